"""A city-sized walking network: Camden's graph tiled to about 50 times its size.

No London extract is needed: Camden's network is copied onto a grid of tiles (each copy moved by
the extract's width or height, so the copies abut) and stitched where they meet (the 20
shortest straight streets between nodes near the seam, on each side of every tile: the extract
follows the borough's outline, so some are a few hundred metres long), then every index is
derived as for a real build (`assemble_graph`). Figures, each beside Camden's in the same run:

- build: deriving the graph and its indexes (the OSM read, for Camden only, shown apart), and
  saving the cache; the cache file's size;
- cached load: mapping the file, and mapping it plus warming the router (both step rules);
- the routing core (a 15-minute reach plus walking metres to every venue), p50/p95, from homes
  in Camden and from homes anywhere on the tiled city;
- `assetmap serve` (gunicorn) for each network, side by side, with 1 and with 4 workers on a
  SpatiaLite database of synthetic listings around Camden: once every worker has served
  matches, --spread matches from homes all over each network (a city's deployment serves the
  whole city), then `GET /api/v1/match` p50/p95 from homes in Camden sent to the two servers in
  turn, then each process's RSS and PSS (/proc/PID/smaps_rollup: shared pages split between
  the processes that map them, the honest figure for memory shared between workers) and how
  much of it is the mapped network file.

Run: python bench/bignetwork.py [--tiles 50] [--activities 20000] [--requests 200]
     [--spread 400] [--keep DIR]   (keep both cache files, e.g. to time a whole process:)
     python bench/bignetwork.py load DIR/camden-x50.walkgraph.npz
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import requests
from scipy.spatial import cKDTree

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from seed import seeded_database  # noqa: E402

from assetmap.geo import METRES_PER_DEGREE, haversine_m  # noqa: E402
from assetmap.walking import Router, WalkGraph, build_graph, load_graph, save_graph  # noqa: E402
from assetmap.walking.graph import assemble_graph, local_frame  # noqa: E402

CAMDEN = REPO / "data" / "osm" / "camden.osm.pbf"
MINUTES = 15
STITCH_BAND_M = 1000.0  # nodes this near a tile's edge may be joined to the next tile
STITCH_PER_SEAM = 20  # the shortest joins kept per seam: connected, without much false length
#: ... to its nearest node there, if that is at most this far (the extract is cut along the
#: borough's outline, not a rectangle, so across a seam the streets can be a few km apart).
STITCH_MAX_M = 3000.0
TARGETS = {"memory_ratio": 1.5, "match_ratio": 1.5}


# --- the tiled network ----------------------------------------------------------------------


def tile_graph(g: WalkGraph, tiles: int) -> WalkGraph:
    """`tiles` copies of `g` on a near-square grid of abutting tiles, stitched at the seams."""
    cols = math.ceil(math.sqrt(tiles))
    min_lon, min_lat, max_lon, max_lat = g.meta.bbox
    width, height = max_lon - min_lon, max_lat - min_lat
    n = g.n_nodes
    place = [(t // cols, t % cols) for t in range(tiles)]
    node_lat = np.concatenate([g.node_lat + r * height for r, _ in place])
    node_lon = np.concatenate([g.node_lon + c * width for _, c in place])
    geom_lat = [g.geom_lat + r * height for r, _ in place]
    geom_lon = [g.geom_lon + c * width for _, c in place]
    edge_u = [g.edge_u.astype(np.int64) + t * n for t in range(tiles)]
    edge_v = [g.edge_v.astype(np.int64) + t * n for t in range(tiles)]
    steps = [g.edge_has_steps] * tiles
    sizes = [np.diff(g.geom_indptr)] * tiles
    # Seams: each tile with the tile east of it and the tile north of it.
    index = {rc: t for t, rc in enumerate(place)}
    _, _, kx, ky = local_frame(g.meta.bbox)
    band_lon, band_lat = STITCH_BAND_M / kx, STITCH_BAND_M / ky
    east = np.flatnonzero(g.node_lon > max_lon - band_lon)
    west = np.flatnonzero(g.node_lon < min_lon + band_lon)
    north = np.flatnonzero(g.node_lat > max_lat - band_lat)
    south = np.flatnonzero(g.node_lat < min_lat + band_lat)
    joins = []
    for (a_side, b_side, d_row, d_col) in ((east, west, 0, 1), (north, south, 1, 0)):
        # Where b's nodes land relative to a's tile; the same for every pair of neighbours.
        a_xy = np.column_stack([g.node_lon[a_side] * kx, g.node_lat[a_side] * ky])
        b_xy = np.column_stack([(g.node_lon[b_side] + d_col * width) * kx,
                                (g.node_lat[b_side] + d_row * height) * ky])
        # Each node of either band to its nearest across the seam (a sparse seam, such as
        # the edge of a heath, still gets the other side's streets joined to it).
        d_ab, k_ab = cKDTree(b_xy).query(a_xy)
        d_ba, k_ba = cKDTree(a_xy).query(b_xy)
        found = np.concatenate([np.column_stack([a_side, b_side[k_ab]]),
                                np.column_stack([a_side[k_ba], b_side])])
        dist = np.concatenate([d_ab, d_ba])
        keep, seen = [], set()
        for i in np.argsort(dist, kind="stable"):
            if dist[i] > STITCH_MAX_M or len(keep) == STITCH_PER_SEAM:
                break
            if int(found[i, 0]) not in seen and int(found[i, 1]) + 10**9 not in seen:
                seen |= {int(found[i, 0]), int(found[i, 1]) + 10**9}
                keep.append(i)
        pairs = (found[keep, 0], found[keep, 1])
        for (r, c), t in index.items():
            other = index.get((r + d_row, c + d_col))
            if other is not None:
                joins.append((pairs[0] + t * n, pairs[1] + other * n))
    ju = np.concatenate([np.zeros(0, np.int64), *(j[0] for j in joins)])
    jv = np.concatenate([np.zeros(0, np.int64), *(j[1] for j in joins)])
    edge_u.append(ju)
    edge_v.append(jv)
    steps.append(np.zeros(len(ju), bool))
    sizes.append(np.full(len(ju), 2))
    geom_lat.append(np.column_stack([node_lat[ju], node_lat[jv]]).ravel())
    geom_lon.append(np.column_stack([node_lon[ju], node_lon[jv]]).ravel())
    all_lat, all_lon = np.concatenate(geom_lat), np.concatenate(geom_lon)
    indptr = np.concatenate([[0], np.cumsum(np.concatenate(sizes))])
    # Metres from the moved geometry (a degree of longitude shrinks northwards).
    step = np.zeros(len(all_lat))
    step[1:] = haversine_m(all_lat[:-1], all_lon[:-1], all_lat[1:], all_lon[1:])
    step[indptr[:-1]] = 0.0
    metres = np.add.reduceat(step, indptr[:-1])
    return assemble_graph(
        f"{g.meta.name}-x{tiles}", f"{g.meta.source} tiled {tiles} times", node_lat=node_lat,
        node_lon=node_lon,
        node_osm_id=np.concatenate([g.node_osm_id + t * 10**12 for t in range(tiles)]),
        edge_u=np.concatenate(edge_u), edge_v=np.concatenate(edge_v), edge_metres=metres,
        edge_has_steps=np.concatenate(steps), geom_indptr=indptr, geom_lat=all_lat,
        geom_lon=all_lon, streets={  # every tile has Camden's streets; the seams have none
            "edge_street": np.concatenate([*[g.edge_street] * tiles,
                                           np.full(len(ju), -1, np.int32)]),
            "street_text": g.street_text, "street_indptr": g.street_indptr,
            "street_named": g.street_named, "street_kind": g.street_kind},
    )


def homes(g: WalkGraph, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random points up to ~30 m from nodes of the main component, as (lat, lon)."""
    main = np.flatnonzero(g.node_component == np.bincount(g.node_component).argmax())
    pick = rng.choice(main, n)
    jitter = rng.normal(0, 15, (n, 2)) / METRES_PER_DEGREE
    return np.column_stack([g.node_lat[pick] + jitter[:, 0],
                            g.node_lon[pick] + jitter[:, 1] * 1.6])


def core_ms(router: Router, points: np.ndarray, venues: np.ndarray) -> list[float]:
    """Milliseconds of a 15-minute reach plus walking metres to every venue, per origin."""
    snaps = router.snap_many(venues[:, 0], venues[:, 1])
    out = []
    for lat, lon in points:
        t = time.perf_counter()
        router.walk_to_snaps(router.reach(lat, lon, MINUTES), snaps)
        out.append((time.perf_counter() - t) * 1000)
    return out


def timed_s(fn) -> tuple[float, object]:
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


# --- serving --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serving(database_url: str, network_dir: Path, workers: int, log: Path) -> Iterator[tuple]:
    """`assetmap serve --workers N` on a free port: yields (base URL, master pid)."""
    port = free_port()
    env = os.environ | {"ASSETMAP_DATABASE_URL": database_url, "ASSETMAP_SECRET_KEY": "bench",
                        "ASSETMAP_NETWORK_DIR": str(network_dir), "PYTHONPATH": str(REPO)}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "assetmap", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers)], env=env, stdout=out,
            stderr=subprocess.STDOUT, cwd=REPO)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        try:
            while True:
                try:
                    if requests.get(base + "/api/v1/vocabulary", timeout=5).ok:
                        break
                except requests.ConnectionError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"assetmap serve did not start:\n{log.read_text()}")
                time.sleep(0.3)
            yield base, process.pid
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(p) for p in fh.read().split()]


def rollup(pid: int) -> dict[str, float]:
    """MB by field of /proc/PID/smaps_rollup (Rss, Pss, Private_Dirty ...)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return out


def file_share(pid: int, path: Path) -> dict[str, float]:
    """MB of Rss and Pss of the mappings of `path` in a process (0 if it is not mapped)."""
    out = {"Rss": 0.0, "Pss": 0.0}
    inside = False
    target = str(path.resolve())
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            first = line.split(maxsplit=5)
            if "-" in first[0] and len(first) >= 5 and ":" in first[3]:  # a mapping's header
                inside = len(first) == 6 and first[5].strip() == target
            elif inside and first[0] in ("Rss:", "Pss:"):
                out[first[0][:-1]] += int(first[1]) / 1024
    return out


def match(base: str, lat: float, lon: float) -> float:
    t = time.perf_counter()
    response = requests.get(f"{base}/api/v1/match", params={
        "lat": f"{lat:.6f}", "lon": f"{lon:.6f}", "minutes": MINUTES, "pace": "typical"},
        timeout=120)
    elapsed = (time.perf_counter() - t) * 1000
    response.raise_for_status()
    return elapsed


def wait_for_workers(master: int, workers: int) -> list[int]:
    """The worker pids, once gunicorn has started all of them."""
    deadline = time.monotonic() + 120
    while len(pids := children(master)) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(pids)} of {workers} workers started")
        time.sleep(0.3)
    return pids


def warm_every_worker(base: str, pids: list[int], cache: Path, points: np.ndarray) -> int:
    """Concurrent matches until every worker has mapped the network; how many it took."""
    i = 0
    deadline = time.monotonic() + 300
    while not all(file_share(p, cache)["Rss"] > 0 for p in pids):
        threads = [threading.Thread(target=match, args=(base, *points[(i + k) % len(points)]))
                   for k in range(2 * len(pids))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        i += 2 * len(pids)
        if time.monotonic() > deadline:
            raise RuntimeError("not every worker served a match")
    return i


def memory(master: int, pids: list[int], cache: Path) -> dict:
    """Each process's RSS and PSS, and the network file's part of it, in MB."""
    procs = [rollup(pid) for pid in pids]
    shares = [file_share(pid, cache) for pid in pids]
    return {
        "rss_workers": sum(p["Rss"] for p in procs),
        "pss_workers": sum(p["Pss"] for p in procs),
        "pss_all": sum(p["Pss"] for p in procs) + rollup(master)["Pss"],
        "rss_each": [p["Rss"] for p in procs],
        "pss_each": [p["Pss"] for p in procs],
        "private_each": [p.get("Private_Dirty", 0) + p.get("Private_Clean", 0) for p in procs],
        "file_rss_each": [s["Rss"] for s in shares],
        "file_pss_each": [s["Pss"] for s in shares],
    }


def spread(base: str, points: np.ndarray, workers: int) -> None:
    """One match from each point, `2 * workers` at a time: a whole city's worth of origins."""
    for lo in range(0, len(points), 2 * workers):
        threads = [threading.Thread(target=match, args=(base, *p))
                   for p in points[lo:lo + 2 * workers]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def serve_pair(database_url: str, nets: dict[str, Path], caches: dict[str, Path], workers: int,
               points: np.ndarray, everywhere: dict[str, np.ndarray], requests_n: int,
               folder: Path) -> dict[str, dict]:
    """Camden's and the big network's servers side by side, each with `workers` workers:
    every worker warmed with matches, matches from `everywhere` (homes all over each network,
    as a city's deployment serves them), then timed matches from `points` sent to each in
    turn (A B A B ..., so a change in the machine's speed hits both alike), then each
    process's memory."""
    with serving(database_url, nets["camden"], workers, folder / f"camden-{workers}.log") as a, \
            serving(database_url, nets["big"], workers, folder / f"big-{workers}.log") as b:
        servers = {"camden": a, "big": b}
        pids = {k: wait_for_workers(master, workers) for k, (_, master) in servers.items()}
        warmups = {k: warm_every_worker(base, pids[k], caches[k], points)
                   for k, (base, _) in servers.items()}
        for key, (base, _) in servers.items():
            spread(base, everywhere[key], workers)
        samples: dict[str, list[float]] = {"camden": [], "big": []}
        for i in range(requests_n):
            for key in ("camden", "big") if i % 2 else ("big", "camden"):
                samples[key].append(match(servers[key][0], *points[i % len(points)]))
        return {k: {"p50": float(np.percentile(samples[k], 50)),
                    "p95": float(np.percentile(samples[k], 95)), "warmup_requests": warmups[k],
                    **memory(servers[k][1], pids[k], caches[k])} for k in servers}


# --- main -----------------------------------------------------------------------------------


def load_only(path: Path) -> int:
    """One process: map a cache, warm its router, one 15-minute reach (for timing from
    outside, e.g. with /usr/bin/time -v)."""
    router = Router(load_graph(path))
    router.warm()
    lat0, lon0 = router.graph.node_lat[0], router.graph.node_lon[0]
    router.reach(float(lat0), float(lon0), MINUTES)
    return 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "load":
        return load_only(Path(sys.argv[2]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=50)
    parser.add_argument("--activities", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", default="1,4")
    parser.add_argument("--spread", type=int, default=400,
                        help="matches from homes all over each network before memory is read")
    parser.add_argument("--keep", type=Path, help="keep both cache files in this directory")
    args = parser.parse_args()
    rng = np.random.default_rng(13)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (2 cores shared: times vary)")

    read_s, camden = timed_s(lambda: build_graph(CAMDEN, "camden"))
    derive_camden_s, _ = timed_s(lambda: tile_graph(camden, 1))
    derive_big_s, big = timed_s(lambda: tile_graph(camden, args.tiles))
    main_share = np.bincount(big.node_component).max() / big.n_nodes
    km = {name: float(g.edge_metres.sum() / 1000) for name, g in (("c", camden), ("b", big))}
    print(f"Camden: {camden.n_nodes:,} nodes, {camden.n_edges:,} edges, {km['c']:,.0f} km of "
          f"way; built from OSM in {read_s:.1f} s")
    print(f"tiled x{args.tiles}: {big.n_nodes:,} nodes, {big.n_edges:,} edges, {km['b']:,.0f} "
          f"km of way ({km['b'] / km['c']:.1f}x), {main_share:.1%} of nodes in one component")
    print(f"derive graph and indexes: Camden {derive_camden_s:.2f} s, x{args.tiles} "
          f"{derive_big_s:.1f} s ({derive_big_s / derive_camden_s:.0f}x)")

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bignetwork-"))
    nets = {"camden": folder / "camden-net", "big": folder / "big-net"}
    caches = {"camden": nets["camden"] / "camden.walkgraph.npz",
              "big": nets["big"] / f"camden-x{args.tiles}.walkgraph.npz"}
    save = {}
    for key, graph in (("camden", camden), ("big", big)):
        save[key], _ = timed_s(lambda g=graph, k=key: save_graph(g, caches[k]))
    size = {k: p.stat().st_size / 1e6 for k, p in caches.items()}
    print(f"save: Camden {save['camden']:.2f} s ({size['camden']:.0f} MB), x{args.tiles} "
          f"{save['big']:.1f} s ({size['big']:,.0f} MB, {size['big'] / size['camden']:.0f}x)")

    venues = homes(camden, 2000, rng)
    camden_homes = homes(camden, 150, rng)
    big_homes_all = homes(big, max(args.spread, 150), rng)
    big_homes = big_homes_all[:150]
    load = {}
    core = {}
    for key in ("camden", "big"):
        map_s, graph = timed_s(lambda k=key: load_graph(caches[k]))
        router = Router(graph)
        warm_s, _ = timed_s(router.warm)
        load[key] = (map_s, warm_s)
        core[key] = core_ms(router, camden_homes, venues)
        if key == "big":
            core["big-anywhere"] = core_ms(router, big_homes, venues)
        del router, graph
    for key, label in (("camden", "Camden"), ("big", f"x{args.tiles}")):
        print(f"cached load {label}: map the file {load[key][0] * 1000:.1f} ms, warm the router "
              f"(both step rules) {load[key][1]:.2f} s")
    for key, label in (("camden", "Camden"), ("big", f"x{args.tiles}, homes in Camden"),
                       ("big-anywhere", f"x{args.tiles}, homes anywhere")):
        p50, p95 = np.percentile(core[key], 50), np.percentile(core[key], 95)
        print(f"routing core {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"({p95 / np.percentile(core['camden'], 95):.2f}x Camden's p95)")

    del big
    figures: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory() as tmp, seeded_database(
            "spatialite", Path(tmp), rng, activities=args.activities) as url:
        for workers in (int(w) for w in args.workers.split(",")):
            print(f"serving both networks with {workers} worker(s) each; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            pair = serve_pair(url, nets, caches, workers, camden_homes,
                              {"camden": homes(camden, args.spread, rng),
                               "big": big_homes_all[:args.spread]}, args.requests, Path(tmp))
            for key, value in pair.items():
                figures[key, workers] = value
    counts = sorted({w for _, w in figures})
    for key, label in (("camden", "Camden"), ("big", f"x{args.tiles}")):
        for w in counts:
            f = figures[key, w]
            print(f"{label}, {w} worker(s): match p50 {f['p50']:.0f} ms, p95 {f['p95']:.0f} ms; "
                  f"workers RSS {f['rss_workers']:,.0f} MB, PSS {f['pss_workers']:,.0f} MB "
                  f"(with the master {f['pss_all']:,.0f} MB); per worker RSS "
                  f"{', '.join(f'{v:.0f}' for v in f['rss_each'])}, private "
                  f"{', '.join(f'{v:.0f}' for v in f['private_each'])}, network file RSS "
                  f"{', '.join(f'{v:.0f}' for v in f['file_rss_each'])} / PSS "
                  f"{', '.join(f'{v:.0f}' for v in f['file_pss_each'])} MB")
    lo, hi = counts[0], counts[-1]
    for key, label in (("camden", "Camden"), ("big", f"x{args.tiles}")):
        a, b = figures[key, lo], figures[key, hi]
        print(f"{label}: {hi} workers / {lo}: PSS of the workers "
              f"{b['pss_workers'] / a['pss_workers']:.2f}x, with the master "
              f"{b['pss_all'] / a['pss_all']:.2f}x, RSS summed "
              f"{b['rss_workers'] / a['rss_workers']:.2f}x (counts shared pages in every worker)")
    ratio_mem = figures["big", hi]["pss_all"] / figures["big", lo]["pss_all"]
    ratio_match = figures["big", lo]["p95"] / figures["camden", lo]["p95"]
    print(f"match p95 x{args.tiles} / Camden ({lo} worker): {ratio_match:.2f}x; "
          f"{hi} workers: {figures['big', hi]['p95'] / figures['camden', hi]['p95']:.2f}x")
    # What the network itself costs: the big network's server less Camden's, same workers.
    extra = {w: figures["big", w]["pss_all"] - figures["camden", w]["pss_all"] for w in counts}
    print(f"the x{args.tiles} network's own memory (PSS, big server less Camden's): "
          + ", ".join(f"{w} worker(s) {extra[w]:,.0f} MB" for w in counts)
          + f" ({extra[hi] / extra[lo]:.2f}x)")
    checks = (("memory_ratio", "whole server, PSS", ratio_mem),
              ("memory_ratio", "the network's own, PSS", extra[hi] / extra[lo]),
              ("match_ratio", "match p95 against Camden's", ratio_match))
    for name, label, value in checks:
        print(f"{'ok  ' if value <= TARGETS[name] else 'MISS'} {label}: {value:.2f}x "
              f"(target <= {TARGETS[name]}x)")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
