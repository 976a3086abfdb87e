"""Benchmark the maps: basemap build, map-view requests, and the public page's first view.

    .venv/bin/python bench/maps.py [--sizes 5000,50000] [--backends spatialite,postgis]
                                   [--repeat 30] [--no-browser]

1. Tile build for Camden (tilemaker): seconds and MB, against one plain osmium read of the same
   extract (the floor any build pays).
2. Per backend and listing count (throwaway databases from bench/seed.py): p95 of the first
   view's request (GET /api/v1/map, Camden at zoom 13 with the 25-item list), of a zoomed-in view
   (zoom 16) and of one tile; the bytes of the first view against the old way (every listing as
   GeoJSON, paged through /api/v1/activities).
3. With headless Chromium against the app on a real port: bytes transferred and time until the
   markers are drawn for `/`.
Not a test: it prints figures and whether the targets (first view <= 300 KB, <= 1 s) are met.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import osmium

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from seed import seeded_database  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from assetmap import create_app, db  # noqa: E402
from assetmap.config import TestConfig  # noqa: E402
from assetmap.maps.tiles import build_tiles, tile_for  # noqa: E402
from assetmap.web.serving import prepare_to_serve  # noqa: E402

OSM = REPO / "data" / "osm" / "camden.osm.pbf"
CAMDEN_VIEW = "-0.2276,51.5113,-0.0925,51.5786"
ZOOMED_VIEW = "-0.1489,51.5461,-0.1321,51.5545"
TARGET_BYTES = 300_000
TARGET_MS = 1000.0


def p95(samples: list[float]) -> float:
    return float(np.percentile(samples, 95))


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def bench_build(folder: Path) -> None:
    start = time.perf_counter()
    count = sum(1 for _ in osmium.FileProcessor(str(OSM)))
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    tileset = build_tiles(OSM, "camden", folder)
    build_s = time.perf_counter() - start
    print(f"tile build (Camden, {OSM.stat().st_size / 1e6:.1f} MB extract, {count} objects): "
          f"{build_s:.1f} s, {tileset.size_bytes / 1e6:.2f} MB; one osmium read {read_s:.1f} s "
          f"(build = {build_s / read_s:.1f}x a read)")


def bench_requests(app, repeat: int) -> dict:
    client = app.test_client()
    first = f"/api/v1/map?bbox={CAMDEN_VIEW}&zoom=13&list=25"
    zoomed = f"/api/v1/map?bbox={ZOOMED_VIEW}&zoom=16"
    x, y = tile_for(51.5503, -0.1405, 14)
    tile = f"/tiles/camden/14/{x}/{y}.mvt"
    body = client.get(first).get_json()
    out = {"total": body["total"], "clustered": body["clustered"],
           "first_bytes": len(client.get(first).data)}
    for name, url in (("first", first), ("zoomed", zoomed), ("tile", tile)):
        client.get(url)
        out[f"{name}_p95"] = p95(timed(lambda u=url: client.get(u), repeat))
    # The old way: every listing as GeoJSON, a page of 1000 at a time.
    start = time.perf_counter()
    url, old_bytes = "/api/v1/activities?limit=1000", 0
    while url:
        r = client.get(url)
        old_bytes += len(r.data)
        url = r.get_json()["next"]
    out["all_ms"] = (time.perf_counter() - start) * 1000
    out["all_bytes"] = old_bytes
    return out


def bench_browser(app) -> dict:
    from playwright.sync_api import sync_playwright

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                        args=["--no-sandbox"], headless=True)
            results = []
            for _ in range(3):
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                sizes: list[int] = []

                def count(r, sizes=sizes) -> None:
                    got = r.sizes()
                    sizes.append(got["responseBodySize"] + got["responseHeadersSize"])

                page.on("requestfinished", count)
                start = time.perf_counter()
                page.goto(base + "/")
                page.wait_for_selector("#map[data-marker-count]", state="attached",
                                       timeout=60_000)
                render_ms = (time.perf_counter() - start) * 1000
                page.wait_for_load_state("networkidle")
                results.append((render_ms, sum(sizes)))
                context.close()
            browser.close()
    finally:
        server.shutdown()
    return {"render_ms": statistics.median(r[0] for r in results),
            "bytes": statistics.median(r[1] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    with tempfile.TemporaryDirectory() as tmp:
        tiles = Path(tmp) / "tiles"
        bench_build(tiles)
        for backend in args.backends.split(","):
            for size in (int(s) for s in args.sizes.split(",")):
                folder = Path(tmp) / f"{backend}-{size}"
                folder.mkdir()
                with seeded_database(backend, folder, rng, activities=size,
                                     random_venues=min(size // 4, 5000)) as url:
                    app = create_app(TestConfig(url, TILES_DIR=tiles,
                                                NETWORK_DIR=folder / "networks"))
                    prepare_to_serve(app)  # as `assetmap serve` readies its workers
                    r = bench_requests(app, args.repeat)
                    print(f"{backend} {size} listings: first view {r['total']} in view "
                          f"({'clusters' if r['clustered'] else 'points'}), "
                          f"{r['first_bytes'] / 1e3:.0f} KB, p95 {r['first_p95']:.0f} ms; "
                          f"zoom 16 p95 {r['zoomed_p95']:.0f} ms; tile p95 "
                          f"{r['tile_p95']:.1f} ms; every listing as GeoJSON "
                          f"{r['all_bytes'] / 1e6:.1f} MB in {r['all_ms']:.0f} ms "
                          f"({r['all_bytes'] / max(r['first_bytes'], 1):.0f}x the first view)")
                    if not args.no_browser:
                        b = bench_browser(app)
                        ok = b["bytes"] <= TARGET_BYTES and b["render_ms"] <= TARGET_MS
                        print(f"  browser, / first view: {b['bytes'] / 1e3:.0f} KB transferred, "
                              f"markers drawn in {b['render_ms']:.0f} ms "
                              f"(targets <= {TARGET_BYTES // 1000} KB, <= {TARGET_MS:.0f} ms: "
                              f"{'met' if ok else 'NOT met'})")
                    db.dispose(app)
        shutil.rmtree(tiles, ignore_errors=True)


if __name__ == "__main__":
    main()
