"""Building the walking graph: which ways count, barriers, errors, and the cache file."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from assetmap.walking import (
    Router,
    WalkGraph,
    WalkingNetworkError,
    build_graph,
    load_graph,
    save_graph,
)
from assetmap.walking import graph as graph_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "walking"


def osm_ids_on_edges(g: WalkGraph, location: dict[int, tuple[float, float]]) -> set[int]:
    """OSM ids of every node on any edge geometry (graph nodes and compressed ones)."""
    coords = set(zip(g.geom_lat.tolist(), g.geom_lon.tolist(), strict=True))
    return {n for n, loc in location.items() if loc in coords}


def test_rules_keep_only_walkable_ways(rules_graph: WalkGraph, rules_oracle) -> None:
    on_graph = osm_ids_on_edges(rules_graph, rules_oracle.location)
    # Interior nodes of: foot=no footway (5), motorway (6), trunk without sidewalk (22),
    # construction (23), and the building (40-43).
    assert on_graph.isdisjoint({5, 6, 22, 23, 40, 41, 42, 43})
    # Trunk with sidewalk (21), private road with foot=yes (17), oneway street (15), the
    # pedestrian area outline (29-31) and the island (25, 26) are all there.
    assert {21, 17, 15, 29, 30, 31, 25, 26}.issubset(on_graph)


def test_private_service_road_is_left_out(rules_graph: WalkGraph, rules_oracle) -> None:
    # Way 111 (access=private) is the only way through both 13 and 16.
    loc = rules_oracle.location
    for e in range(rules_graph.n_edges):
        lats, lons = rules_graph.edge_geometry(e)
        assert not {loc[13], loc[16]} <= set(zip(lats.tolist(), lons.tolist(), strict=True))


def test_steps_ways_and_step_barriers_are_flagged(rules_graph: WalkGraph) -> None:
    g = rules_graph
    steps = np.flatnonzero(g.edge_has_steps)
    ids = {frozenset(map(int, g.node_osm_id[[g.edge_u[e], g.edge_v[e]]])) for e in steps}
    assert frozenset({4, 8}) in ids  # highway=steps
    assert frozenset({11}) in ids  # the stile: zero-length link across node 11
    assert frozenset({12}) in ids  # the raised kerb where the crossing ends
    zero = steps[g.edge_metres[steps] == 0]
    assert len(zero) == 2  # exactly the two node barriers, nothing else is zero-length


def test_private_gate_splits_the_way(rules_graph: WalkGraph) -> None:
    g = rules_graph
    copies = np.flatnonzero(g.node_osm_id == 14)
    assert len(copies) == 2  # one dead end on each side of the gate
    assert all(np.diff(g.indptr)[copies] == 1)


def test_gate_at_driveway_mouth_only_shuts_the_driveway(
    rules_graph: WalkGraph, rules_oracle
) -> None:
    g = rules_graph
    loc = rules_oracle.location
    main = int(g.node_component[np.flatnonzero(g.node_osm_id == 3)[0]])
    # The through road 3-17-16 still runs past the gate as one 500 m edge...
    through = [e for e in range(g.n_edges)
               if {loc[3], loc[17], loc[16]} <= set(zip(*map(list, g.edge_geometry(e)),
                                                        strict=True))]
    assert len(through) == 1 and g.edge_metres[through[0]] == pytest.approx(500, rel=1e-3)
    assert g.node_component[g.edge_u[through[0]]] == main
    # ...while the driveway 17-33 starts from its own copy of node 17, cut off from it.
    driveway = np.flatnonzero(g.node_osm_id == 33)
    assert len(driveway) == 1 and g.node_component[driveway[0]] != main


def test_island_is_kept_as_its_own_component(rules_graph: WalkGraph) -> None:
    g = rules_graph
    island = np.flatnonzero(np.isin(g.node_osm_id, [25, 26]))
    assert len(island) == 2
    assert g.node_component[island[0]] == g.node_component[island[1]]
    assert np.count_nonzero(g.node_component == g.node_component[island[0]]) == 2


def test_edge_lengths_are_haversine_sums(granary_graph: WalkGraph, ref_metres) -> None:
    g = granary_graph
    for e in range(0, g.n_edges, 7):
        lats, lons = g.edge_geometry(e)
        expected = sum(ref_metres(lats[i], lons[i], lats[i + 1], lons[i + 1])
                       for i in range(len(lats) - 1))
        assert g.edge_metres[e] == pytest.approx(expected, rel=1e-9, abs=1e-6)
        assert g.geom_cum[g.geom_indptr[e + 1] - 1] == pytest.approx(expected, abs=1e-6)


def test_csr_holds_every_edge_both_ways(granary_graph: WalkGraph) -> None:
    g = granary_graph
    src = np.repeat(np.arange(g.n_nodes), np.diff(g.indptr))
    pairs = set(zip(src.tolist(), g.indices.tolist(), strict=True))
    for e in range(g.n_edges):
        u, v = int(g.edge_u[e]), int(g.edge_v[e])
        if u != v:
            assert (u, v) in pairs and (v, u) in pairs
    assert np.all(g.weights == g.edge_metres[g.csr_edge])


def test_metadata(granary_graph: WalkGraph) -> None:
    meta = granary_graph.meta
    assert meta.name == "granary-square"
    assert meta.source == "granary-square.osm.pbf"
    assert meta.n_nodes == granary_graph.n_nodes and meta.n_edges == granary_graph.n_edges
    min_lon, min_lat, max_lon, max_lat = meta.bbox
    assert min_lon <= granary_graph.node_lon.min() and max_lat >= granary_graph.node_lat.max()
    assert -0.13 < min_lon < max_lon < -0.12 and 51.53 < min_lat < max_lat < 51.54


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.osm.pbf", b"hello, this is not a protobuf file\n"),
        ("shape.osm", b'{"type": "FeatureCollection", "features": []}'),
        ("empty.osm.pbf", b""),
        ("data.csv", b"lat,lon\n51.5,-0.1\n"),
        ("track.osm", b'<?xml version="1.0"?><gpx version="1.1"><trk/></gpx>'),
    ],
)
def test_not_osm_data_is_a_clear_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(WalkingNetworkError, match=name.replace(".", r"\.")) as info:
        build_graph(path)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_no_walkable_ways_is_a_clear_error(paths: dict[str, Path]) -> None:
    with pytest.raises(WalkingNetworkError, match="no walkable ways"):
        build_graph(paths["no_walkable"])


def test_empty_osm_xml_is_no_walkable_ways(tmp_path: Path) -> None:
    path = tmp_path / "empty.osm"
    path.write_text('<?xml version="1.0"?>\n<osm version="0.6"></osm>\n')
    with pytest.raises(WalkingNetworkError, match="no walkable ways"):
        build_graph(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WalkingNetworkError, match="not found"):
        build_graph(tmp_path / "nope.osm.pbf")


# --- cache ---------------------------------------------------------------------------------


def test_cache_round_trip(tmp_path: Path, granary_graph: WalkGraph) -> None:
    path = tmp_path / "granary.walkgraph.npz"
    save_graph(granary_graph, path)
    loaded = load_graph(path)
    assert loaded.meta == granary_graph.meta
    for field in graph_module._ARRAY_FIELDS:
        a, b = getattr(granary_graph, field), getattr(loaded, field)
        assert a.dtype == b.dtype and np.array_equal(a, b), field
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_cache_holds_no_pickles(tmp_path: Path, granary_graph: WalkGraph) -> None:
    path = tmp_path / "granary.walkgraph.npz"
    save_graph(granary_graph, path)
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)


def test_failed_write_leaves_existing_cache_untouched(
    tmp_path: Path, granary_graph: WalkGraph, rules_graph: WalkGraph,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "net.walkgraph.npz"
    save_graph(granary_graph, path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    write_member = graph_module._write_member
    written: list[str] = []

    def broken_write(archive, name, array):  # a few members, then the disk "fills up"
        if len(written) == 3:
            raise OSError("No space left on device")
        written.append(name)
        write_member(archive, name, array)

    monkeypatch.setattr(graph_module, "_write_member", broken_write)
    with pytest.raises(OSError, match="No space"):
        save_graph(rules_graph, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    monkeypatch.undo()
    assert load_graph(path).meta == granary_graph.meta


def test_loading_something_else_is_a_clear_error(tmp_path: Path, paths: dict[str, Path]) -> None:
    bad = tmp_path / "bad.walkgraph.npz"
    bad.write_bytes(paths["granary"].read_bytes())
    with pytest.raises(WalkingNetworkError, match="not a network cache"):
        load_graph(bad)
    other = tmp_path / "other.walkgraph.npz"
    np.savez(other, x=np.arange(3))
    with pytest.raises(WalkingNetworkError, match="not a network cache"):
        load_graph(other)


def test_truncated_cache_is_a_clear_error(tmp_path: Path, granary_graph: WalkGraph) -> None:
    path = tmp_path / "g.walkgraph.npz"
    save_graph(granary_graph, path)
    data = path.read_bytes()
    for size in (10, len(data) // 2, len(data) - 50):
        path.write_bytes(data[:size])
        with pytest.raises(WalkingNetworkError, match="network cache"):
            load_graph(path)


def test_other_format_version_is_refused(tmp_path: Path, granary_graph: WalkGraph,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "g.walkgraph.npz"
    save_graph(granary_graph, path)
    monkeypatch.setattr(graph_module, "FORMAT_VERSION", graph_module.FORMAT_VERSION + 1)
    with pytest.raises(WalkingNetworkError, match="rebuild"):
        load_graph(path)


# --- the mapped cache: shared by every worker, answers unchanged ---------------------------


def test_loaded_arrays_are_read_only_views_of_the_file(tmp_path: Path,
                                                       granary_graph: WalkGraph) -> None:
    path = tmp_path / "granary.walkgraph.npz"
    save_graph(granary_graph, path)
    loaded = load_graph(path)
    for field in graph_module._ARRAY_FIELDS:
        array = getattr(loaded, field)
        assert not array.flags.owndata and not array.flags.writeable, field
        if array.size:
            base = array
            while not isinstance(base, np.memmap):
                base = base.base
            assert Path(base.filename) == path.resolve(), field
            assert array.ctypes.data % 64 == 0, field  # aligned: no slow unaligned reads


def test_cache_is_an_ordinary_npz(tmp_path: Path, granary_graph: WalkGraph) -> None:
    """np.load reads the aligned file too, and finds the same arrays the mapping does."""
    path = tmp_path / "granary.walkgraph.npz"
    save_graph(granary_graph, path)
    loaded = load_graph(path)
    with np.load(path, allow_pickle=False) as npz:
        for field in graph_module._ARRAY_FIELDS:
            assert np.array_equal(npz[field], getattr(loaded, field)), field


def _answers(router: Router, seed: int) -> list:
    g = router.graph
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = g.meta.bbox
    pts = np.column_stack([rng.uniform(min_lat, max_lat, 60), rng.uniform(min_lon, max_lon, 60)])
    out: list = []
    for avoid in (False, True):
        batch = router.snap_many(pts[:, 0], pts[:, 1], avoid_steps=avoid)
        out += [batch.edge.tolist(), np.nan_to_num(batch.offset_m, nan=-1).tolist()]
        out += [router.snap(*p, avoid_steps=avoid) for p in pts[:10]]
    for pace in router.paces:
        for i in range(0, 20, 2):
            out.append(router.route(*pts[i], *pts[i + 1], pace))
            reach = router.reach(*pts[i], 10, pace)
            out.append(None if reach.node_metres is None else reach.node_metres.tolist())
    return out


@pytest.mark.parametrize("which", ["granary_graph", "rules_graph", "camden_graph"])
def test_routes_on_the_mapped_graph_are_those_of_the_built_one(
    tmp_path: Path, request: pytest.FixtureRequest, which: str,
) -> None:
    built: WalkGraph = request.getfixturevalue(which)
    path = tmp_path / "g.walkgraph.npz"
    save_graph(built, path)
    expected = _answers(Router(built), seed=11)
    assert _answers(Router(load_graph(path)), seed=11) == expected


def test_queries_write_nothing_shared(tmp_path: Path, camden_graph: WalkGraph) -> None:
    """Each thread's search graph is a copy-on-write view of the file: its rewritten origin
    row never reaches the file or the other threads, and the rest stays the file's pages."""
    path = tmp_path / "camden.walkgraph.npz"
    save_graph(camden_graph, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    graph = load_graph(path)
    router = Router(graph)
    lat0, lon0 = (graph.meta.bbox[1] + graph.meta.bbox[3]) / 2, (graph.meta.bbox[0]
                                                                  + graph.meta.bbox[2]) / 2
    expected = router.route(lat0, lon0, lat0 + 0.004, lon0 + 0.006).metres
    results: list[float] = []
    matrices: list = []

    def work(k: int) -> None:
        for _ in range(5):
            results.append(router.route(lat0, lon0, lat0 + 0.004, lon0 + 0.006).metres)
            router.reach(lat0 - 0.002 * k, lon0, 5)
        matrices.append(router._profile(False).local.matrix)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 15
    assert len({id(m.indices) for m in matrices}) == 3
    for m in matrices:
        assert np.shares_memory(m.indptr, graph.search_indptr)  # used as it is, not copied
        assert not m.indices.flags.owndata and m.indices.flags.writeable
    assert graph.search_indices[-2:].tolist() == [0, 0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


def test_a_cache_from_before_mapping_says_rebuild(tmp_path: Path,
                                                  granary_graph: WalkGraph) -> None:
    """What format 2 wrote (np.savez of the graph with street labels, no search graphs or
    grid) is refused with what to do, not half-read."""
    path = tmp_path / "old.walkgraph.npz"
    meta = {**json.loads(granary_graph.meta.to_json()), "format_version": 2}
    fields = graph_module._ARRAY_FIELDS[:graph_module._ARRAY_FIELDS.index("vertex_edge")]
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
             **{f: getattr(granary_graph, f) for f in fields})
    with pytest.raises(WalkingNetworkError, match="format 2, this code reads 3: rebuild"):
        load_graph(path)


def test_routes_are_those_of_the_code_before_the_mapped_cache(
    tmp_path: Path, camden_graph: WalkGraph,
) -> None:
    """Routes and reaches on Camden from a mapped cache, against what the router answered
    before (format 2: arrays read into memory, a KD-tree for snapping), written to
    tests/fixtures/walking/camden-answers-format2.json by that code."""
    before = json.loads((FIXTURES / "camden-answers-format2.json").read_text())
    path = tmp_path / "camden.walkgraph.npz"
    save_graph(camden_graph, path)
    router = Router(load_graph(path))
    for old in before["routes"]:
        route = router.route(*old["from"], *old["to"], old["pace"])
        assert route.estimated == old["estimated"], old
        assert route.metres == pytest.approx(old["metres"], rel=1e-9, abs=1e-6), old
    for old in before["reaches"]:
        reach = router.reach(*old["at"], 10, old["pace"])
        assert reach.estimated == old["estimated"], old
        if reach.node_metres is not None:
            finite = reach.node_metres[np.isfinite(reach.node_metres)]
            assert len(finite) == old["reached"], old
            assert finite.sum() == pytest.approx(old["total_metres"], rel=1e-9), old
