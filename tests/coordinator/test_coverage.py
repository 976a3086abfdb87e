"""Coverage gaps, checked against an independent count: networkx shortest paths over the
streets and exact interval arithmetic, clipped to the ward with shapely."""

from __future__ import annotations

import math
from pathlib import Path
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, box
from shapely.ops import substring

from assetmap import vocab
from assetmap.coverage import gaps as cov
from assetmap.db import session_scope
from assetmap.models import Area, CoverageResult
from assetmap.walking import NetworkRegistry, Router, build_graph
from tests.coordinator.conftest import NOW

GRANARY = Path(__file__).resolve().parents[1] / "fixtures" / "osm" / "granary-square.osm.pbf"
R = 6_371_008.8

# A hand-made street grid south-west of London, away from Camden: 7 x 7 junctions about
# 70 m (east-west) by 100 m (north-south) apart, and a footpath cutting a corner.
LAT0, LON0, DLAT, DLON, N = 51.40, -0.30, 0.0009, 0.001, 7
LONG_BLOCKS = 7  # the long street runs ~490 m east of the grid's south-east corner


def node_at(row: int, col: int) -> tuple[float, float]:
    return LAT0 + row * DLAT, LON0 + col * DLON


def grid_osm(path: Path) -> dict:
    """Write the grid as an .osm file; return its nodes and ways for the oracle."""
    nodes = {r * N + c + 1: node_at(r, c) for r in range(N) for c in range(N)}
    ways = [[r * N + c + 1 for c in range(N)] for r in range(N)]  # east-west streets
    ways += [[r * N + c + 1 for r in range(N)] for c in range(N)]  # north-south streets
    far = 2000
    nodes[far] = node_at(0, N - 1 + LONG_BLOCKS)  # a long street east, no junction on it
    ways.append([N, far])
    extra = 1000
    nodes[extra] = (LAT0 + 1.5 * DLAT, LON0 + 4.5 * DLON)  # footpath corner node
    ways.append([1 * N + 4 + 1, extra, 2 * N + 5 + 1])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    lines += [f'<node id="{i}" version="1" lat="{lat!r}" lon="{lon!r}"/>'
              for i, (lat, lon) in nodes.items()]
    for index, way in enumerate(ways):
        kind = "footway" if index == len(ways) - 1 else "residential"
        lines.append(f'<way id="{index + 1}" version="1">')
        lines += [f'<nd ref="{n}"/>' for n in way]
        lines.append(f'<tag k="highway" v={quoteattr(kind)}/></way>')
    lines.append("</osm>")
    path.write_text("\n".join(lines))
    return {"nodes": nodes, "ways": ways}


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dp, dl = p2 - p1, math.radians(b[1] - a[1])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


def local(lat: float, lon: float) -> tuple[float, float]:
    """Metres east and north of the first grid node (fine over a kilometre)."""
    k = math.pi / 180 * R
    return (lon - LON0) * k * math.cos(math.radians(LAT0)), (lat - LAT0) * k


def merged(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for lo, hi in sorted(i for i in intervals if i[1] > i[0]):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(a, b) for a, b in out]


def oracle(segments, dist, limit, ward_xy, project, along=()) -> tuple[float, float]:
    """(street metres in the ward, covered metres in the ward).

    `segments`: (a, b, [(lat, lon), ...]) polylines between graph nodes a and b;
    `dist`: walking metres to each node; `along`: (segment index, offset, metres) for
    sources sitting on a segment itself.
    """
    total = covered = 0.0
    for index, (a, b, coords) in enumerate(segments):
        length = sum(metres(p, q) for p, q in zip(coords, coords[1:], strict=False))
        if length == 0:
            continue
        intervals = []
        if dist.get(a, math.inf) <= limit:
            intervals.append((0.0, min(length, limit - dist[a])))
        if dist.get(b, math.inf) <= limit:
            intervals.append((max(0.0, length - (limit - dist[b])), length))
        for seg, offset, m in along:
            if seg == index and m <= limit:
                intervals.append((max(0.0, offset - (limit - m)), min(length, offset + limit - m)))
        line = LineString([project(*p) for p in coords])
        scale = length / line.length  # haversine metres per projected metre
        total += line.intersection(ward_xy).length * scale
        for lo, hi in merged(intervals):
            piece = substring(line, lo / length, hi / length, normalized=True)
            covered += piece.intersection(ward_xy).length * scale
    return total, covered


@pytest.fixture
def grid(tmp_path) -> tuple[Router, dict]:
    path = tmp_path / "grid.osm"
    data = grid_osm(path)
    return Router(build_graph(path, "grid")), data


def grid_segments(data: dict) -> list:
    nodes = data["nodes"]
    return [(a, b, [nodes[a], nodes[b]]) for way in data["ways"] for a, b in zip(
        way, way[1:], strict=False)]


@pytest.mark.parametrize("minutes", [2, 3, 5])
def test_grid_coverage_matches_an_independent_count(grid, minutes):
    router, data = grid
    # Two wards split down the middle of a block; the east one holds the long street.
    lo_lat, lo_lon = node_at(-1, -1)
    mid_lat, mid_lon = node_at(N, 3.5)
    hi_lat, hi_lon = node_at(N, N + LONG_BLOCKS + 1)
    west, east = box(lo_lon, lo_lat, mid_lon, mid_lat), box(mid_lon, lo_lat, hi_lon, hi_lat)
    wards = [cov.Ward(1, "West", "W", west), cov.Ward(2, "East", "E", east)]
    # Two venues at junctions, one 10 m off the middle of the long street.
    street_lat, street_lon = node_at(0, N - 1 + LONG_BLOCKS / 2)
    off_street = (street_lat + 10 / (math.pi / 180 * R), street_lon)
    venues = [node_at(3, 1), node_at(5, 5), off_street]
    found = {r.area_id: r for r in cov.compute(router, wards, {"x": (
        np.array([v[0] for v in venues]), np.array([v[1] for v in venues]))}, minutes=minutes)}

    segments = grid_segments(data)
    graph = nx.Graph()
    for a, b, coords in segments:
        graph.add_edge(a, b, weight=metres(*coords))
    long_index = next(i for i, (a, b, _c) in enumerate(segments) if (a, b) == (N, 2000))
    start, end = data["nodes"][N], data["nodes"][2000]
    offset = metres(start, (street_lat, street_lon))
    snap = metres(off_street, (street_lat, street_lon))
    graph.add_edge("venues", N, weight=offset + snap)
    graph.add_edge("venues", 2000, weight=metres(start, end) - offset + snap)
    graph.add_edge("venues", 3 * N + 1 + 1, weight=0.0)
    graph.add_edge("venues", 5 * N + 5 + 1, weight=0.0)
    limit = minutes * 80.0  # typical pace, 4.8 km/h
    dist = nx.single_source_dijkstra_path_length(graph, "venues", cutoff=limit)
    shares = []
    for ward in wards:
        xy = shapely.transform(ward.geometry, lambda c: np.array(
            [local(lat, lon) for lon, lat in c]))
        total, covered = oracle(segments, dist, limit, xy, local,
                                along=[(long_index, offset, snap)])
        result = found[ward.id]
        assert result.street_m == pytest.approx(total, rel=0.005)
        assert result.covered_m == pytest.approx(covered, rel=0.01, abs=5)
        assert result.share == pytest.approx(covered / total, abs=0.01)
        shares.append(result.share)
    assert all(0.05 < share < 1 for share in shares)  # real partial coverage, not trivial


def test_granary_square_coverage_matches_an_independent_count():
    """A real street network (King's Cross), venues between junctions."""
    graph = build_graph(GRANARY, "granary")
    router = Router(graph)
    ward_poly = box(-0.1270, 51.5350, -0.1240, 51.5372)
    venues = [(51.53555, -0.12610), (51.53700, -0.12480)]
    minutes = 2
    (result,) = cov.compute(router, [cov.Ward(7, "Granary", "G1", ward_poly)], {None: (
        np.array([v[0] for v in venues]), np.array([v[1] for v in venues]))}, minutes=minutes)
    limit = minutes * 80.0
    snaps = [router.snap(lat, lon) for lat, lon in venues]
    assert all(s.found for s in snaps)
    net = nx.Graph()
    segments = []
    for e in range(graph.n_edges):
        u, v = int(graph.edge_u[e]), int(graph.edge_v[e])
        lats, lons = graph.edge_geometry(e)
        segments.append((u, v, list(zip(lats.tolist(), lons.tolist(), strict=True))))
        weight = float(graph.edge_metres[e])
        if not net.has_edge(u, v) or net[u][v]["weight"] > weight:
            net.add_edge(u, v, weight=weight)
    for s in snaps:
        e = s.edge
        for node, w in ((int(graph.edge_u[e]), s.offset_m + s.metres),
                        (int(graph.edge_v[e]), float(graph.edge_metres[e]) - s.offset_m
                         + s.metres)):
            if not net.has_edge("venues", node) or net["venues"][node]["weight"] > w:
                net.add_edge("venues", node, weight=w)
    dist = nx.single_source_dijkstra_path_length(net, "venues", cutoff=limit)
    xy = shapely.transform(ward_poly, lambda c: np.array([local(lat, lon) for lon, lat in c]))
    total, covered = oracle(segments, dist, limit, xy, local,
                            along=[(s.edge, s.offset_m, s.metres) for s in snaps])
    assert result.street_m == pytest.approx(total, rel=0.01)
    assert result.share == pytest.approx(covered / total, abs=0.01)
    assert 0.1 < result.share < 0.9


def test_sentences():
    assert cov.sentence("mens-group", 15, 0.3, "Kilburn") == (
        "no men's group within 15 minutes' walk of 70% of Kilburn")
    assert cov.sentence(None, 10, 0.0, "Highgate") == (
        "no active, fresh listing within 10 minutes' walk anywhere in Highgate")
    assert cov.sentence("arts-crafts", 15, 1.0, "Belsize") == (
        "every street in Belsize is within 15 minutes' walk of an arts and crafts")
    assert cov.sentence("digital-help", 1, 0.5, "Holborn") == (
        "no digital / IT help within 1 minute's walk of 50% of Holborn")


def test_only_active_fresh_listings_in_person_count(app, make_listing, tmp_path):
    """Through the database: stale, ended and online listings cover nothing."""
    grid_osm(tmp_path / "grid.osm")
    registry = NetworkRegistry(Path(app.config["NETWORK_DIR"]))
    registry.build(tmp_path / "grid.osm", "grid")
    lo_lat, lo_lon = node_at(-1, -1)
    hi_lat, hi_lon = node_at(N, 3.5)
    with session_scope(app) as s:
        shape = shapely.MultiPolygon([box(lo_lon, lo_lat, hi_lon, hi_lat)])
        s.add(Area(name="Grid West", kind="ward", code="T1", geom=f"SRID=4326;{shape.wkt}"))
    make_listing("Fresh lunch", checks=((10, "phoned"),), at=node_at(3, 1))
    make_listing("Stale shed", checks=((300, "phoned"),), at=node_at(1, 1),
                 category="mens-group")
    make_listing("Ended shed", checks=((10, "phoned"),), at=node_at(5, 1),
                 category="mens-group", status="ended")
    make_listing("Fresh shed", checks=((10, "phoned"),), at=node_at(5, 5),
                 category="mens-group")
    with app.app_context(), session_scope(app) as s:
        done = cov.run(s, registry, now=NOW, minutes=5)
    assert "Kilburn" in done.skipped  # the grid network covers no Camden ward
    with session_scope(app) as s:
        any_row = next(r for r in cov.results(s, minutes=5) if r.code == "T1")
        mens = next(r for r in cov.results(s, minutes=5, category="mens-group")
                    if r.code == "T1")
        lunch = next(r for r in cov.results(s, minutes=5, category="lunch-club")
                     if r.code == "T1")
        bingo = next(r for r in cov.results(s, minutes=5, category="bingo") if r.code == "T1")
        stored = s.query(CoverageResult).filter(CoverageResult.minutes == 5).count()
    router = Router(build_graph(tmp_path / "grid.osm", "grid"))
    ward = cov.Ward(1, "Grid West", "T1", box(lo_lon, lo_lat, hi_lon, hi_lat))

    def expected(points):
        lats = np.array([p[0] for p in points])
        lons = np.array([p[1] for p in points])
        return cov.compute(router, [ward], {"k": (lats, lons)}, minutes=5)[0].share

    assert any_row.share == pytest.approx(expected([node_at(3, 1), node_at(5, 5)]))
    assert mens.share == pytest.approx(expected([node_at(5, 5)]))
    assert lunch.share == pytest.approx(expected([node_at(3, 1)]))
    assert bingo.share == 0 and bingo.sentence == (
        "no bingo within 5 minutes' walk anywhere in Grid West")
    assert stored == 1 + len(vocab.CATEGORY_IDS)  # one ward: any + every category


def test_a_retired_ward_leaves_the_coverage_map_table_and_gaps(app, client, login, wards):
    # Results stored before a boundary review retired a ward stay in the database (history)
    # but the page, its map and its gaps show the wards there are now.
    from assetmap.db import session_scope
    from assetmap.models import Area, CoverageResult

    with session_scope(app) as s:
        for name, covered in (("Kilburn", 100.0), ("Highgate", 200.0)):
            s.add(CoverageResult(area_id=wards[name], category=None, minutes=15,
                                 street_metres=1000.0, covered_metres=covered))
        s.get(Area, wards["Highgate"]).retired = True
    login("coordinator")
    shapes = client.get("/coordinator/coverage/wards.json?minutes=15").get_json()["features"]
    names = {f["properties"]["name"] for f in shapes}
    assert "Kilburn" in names and "Highgate" not in names
    with session_scope(app) as s:
        assert [r.ward for r in cov.results(s, minutes=15)] == ["Kilburn"]
        assert [r.ward for r in cov.worst_gaps(s, minutes=15)] == ["Kilburn"]
    page = client.get("/coordinator/coverage?minutes=15").get_data(as_text=True)
    assert "Kilburn" in page and "Highgate" not in page.split("<main")[1]
