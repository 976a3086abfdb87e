"""Street labels stored per edge at build time: which name lands on which edge, the cache
round trip, and caches from before labels existed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import osmium
import pytest

from assetmap.walking import (
    NetworkRegistry,
    WalkGraph,
    WalkingNetworkError,
    build_graph,
    load_graph,
    save_graph,
)
from assetmap.walking import graph as graph_module
from assetmap.walking.graph import CROSSING, NPZ_SUFFIX, Street, way_street
from assetmap.walking.router import Router

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "osm"
NAMES = FIXTURES / "street-names.osm"
GRANARY = FIXTURES / "granary-square.osm.pbf"
LAT0, LON0 = 51.5, -0.1


def at(x: float, y: float) -> tuple[float, float]:
    """(lat, lon) of a point x m east and y m north of node 1 (as in the fixture)."""
    return LAT0 + y / 111195, LON0 + x / 69220


@pytest.fixture(scope="module")
def names_graph() -> WalkGraph:
    return build_graph(NAMES)


def street_between(g: WalkGraph, a: tuple[float, float], b: tuple[float, float]) -> Street:
    """The label of the edge whose polyline runs through both points (to 1e-7 degrees)."""
    for e in range(g.n_edges):
        lat, lon = g.edge_geometry(e)
        pts = {(round(float(la), 7), round(float(lo), 7)) for la, lo in zip(lat, lon,
                                                                              strict=True)}
        if {tuple(round(v, 7) for v in a), tuple(round(v, 7) for v in b)} <= pts:
            street = g.street(e)
            assert street is not None
            return street
    raise AssertionError(f"no edge through {a} and {b}")


@pytest.mark.parametrize("a, b, label, named, kind", [
    ((0, 0), (100, 0), "Kentish Town Road", True, "major"),
    ((100, 0), (200, 0), "Kentish Town Road", True, "major"),
    ((200, 0), (300, 0), "Leighton Road", True, "minor"),
    # the pavement beside it takes its name, and is still drawn as a path
    ((0, 8), (100, 8), "Kentish Town Road", True, "path"),
    ((100, 0), (100, 8), CROSSING, False, "path"),
    ((300, 0), (300, 100), "the footpath", False, "path"),
    ((300, 100), (400, 100), "the footpath", False, "path"),  # a pavement far from any street
    ((400, 100), (400, 200), "Regent’s Canal Towpath", True, "path"),
])
def test_each_edge_carries_the_name_of_its_way(names_graph, a, b, label, named, kind):
    assert street_between(names_graph, at(*a), at(*b)) == Street(label, named, kind)


def test_an_edge_never_spans_two_streets(names_graph):
    # Node 3 joins only Kentish Town Road and Leighton Road (degree 2): it stays a node.
    lat3, lon3 = at(200, 0)
    assert np.any(np.isclose(names_graph.node_lat, lat3, atol=1e-7)
                  & np.isclose(names_graph.node_lon, lon3, atol=1e-7))
    labels = {names_graph.street(e).label for e in range(names_graph.n_edges)}
    assert labels == {"Kentish Town Road", "Leighton Road", CROSSING, "the footpath",
                      "Regent’s Canal Towpath"}
    # Each street once, and only those some edge is on (the near pavement's own words went).
    assert len(names_graph.streets) == len(set(names_graph.streets)) == 6


def test_a_route_names_each_segment_by_the_edge_it_runs_along(names_graph):
    route = Router(names_graph).route(*at(10, -3), *at(290, -3))
    coords = route.geometry["coordinates"]
    assert len(route.edges) == len(coords) - 1
    streets = names_graph.streets_along(route.edges)
    assert streets[0] is None and streets[-1] is None  # the snap lines
    assert [s.label for s in streets[1:-1]] == ["Kentish Town Road", "Kentish Town Road",
                                                "Leighton Road"]


def test_labels_survive_the_cache_without_pickle(tmp_path, names_graph):
    path = tmp_path / f"names{NPZ_SUFFIX}"
    save_graph(names_graph, path)
    with np.load(path, allow_pickle=False) as npz:
        assert npz["street_text"].dtype == np.uint8 and npz["edge_street"].dtype == np.int32
    loaded = load_graph(path)
    assert loaded.streets == names_graph.streets
    assert [loaded.street(e) for e in range(loaded.n_edges)] == [
        names_graph.street(e) for e in range(names_graph.n_edges)]


def test_a_cache_from_before_street_labels_is_reported_not_used(tmp_path, names_graph):
    # What version 1 wrote: format 1 in the metadata and no street arrays.
    meta = replace(names_graph.meta, format_version=1)
    old = {f: getattr(names_graph, f) for f in graph_module._ARRAY_FIELDS
           if not f.startswith("street_") and f != "edge_street"}
    np.savez(tmp_path / f"old{NPZ_SUFFIX}",
             meta=np.frombuffer(meta.to_json().encode(), np.uint8), **old)
    with pytest.raises(WalkingNetworkError, match="format 1, this code reads 3: rebuild"):
        load_graph(tmp_path / f"old{NPZ_SUFFIX}")
    registry = NetworkRegistry(tmp_path)
    assert registry.networks() == []
    problems = registry.problems()
    assert list(problems) == ["old"]
    assert "format 1" in problems["old"] and "rebuild" in problems["old"]


def test_granary_square_labels_match_the_ways_of_the_extract():
    """Every vertex pair of every edge lies on an OSM way with the edge's label (or, for a
    pavement named after its street, on an unnamed pavement)."""
    g = build_graph(GRANARY)
    ways: dict[frozenset, list[tuple[Street, bool]]] = {}
    for way in osmium.FileProcessor(str(GRANARY), osmium.osm.NODE | osmium.osm.WAY
                                    ).with_locations():
        if not isinstance(way, osmium.osm.Way) or "highway" not in way.tags:
            continue
        pts = [(round(n.location.lat, 7), round(n.location.lon, 7)) for n in way.nodes
               if n.location.valid()]
        sidewalk = way.tags.get("footway") == "sidewalk" and "name" not in way.tags
        for p, q in zip(pts[:-1], pts[1:], strict=True):
            ways.setdefault(frozenset((p, q)), []).append((way_street(way.tags), sidewalk))
    checked = named = 0
    for e in range(g.n_edges):
        street = g.street(e)
        if street is None:
            continue
        lat, lon = g.edge_geometry(e)
        pts = [(round(float(a), 7), round(float(o), 7)) for a, o in zip(lat, lon, strict=True)]
        for p, q in zip(pts[:-1], pts[1:], strict=True):
            options = ways[frozenset((p, q))]
            assert any(s == street or (side and street.named) for s, side in options), (
                e, street, options)
            checked += 1
        named += street.named
    assert checked > 100 and named > 10
