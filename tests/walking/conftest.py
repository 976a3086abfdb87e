"""Fixtures for the walking-network tests, and an independent reference graph.

``OsmOracle`` re-reads an extract with pyosmium into a plain networkx graph over OSM node ids,
applying the walkability rules as written in the brief (not by calling the code under test),
so distances from the router can be checked against a textbook shortest path.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import osmium
import pytest

from assetmap.walking import Router, WalkGraph, build_graph

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "osm"
GRANARY = FIXTURES / "granary-square.osm.pbf"
RULES = FIXTURES / "walk-rules.osm"
NO_WALKABLE = FIXTURES / "no-walkable.osm"
CAMDEN = Path(__file__).resolve().parents[2] / "data" / "osm" / "camden.osm.pbf"

ALWAYS = {
    "footway", "path", "pedestrian", "steps", "residential", "living_street", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary",
    "primary_link", "track", "bridleway", "cycleway", "corridor", "crossing", "road",
}
FOOT_OK = {"yes", "designated", "permissive"}


def oracle_walkable(t: dict[str, str]) -> bool:
    hw, foot, access = t.get("highway"), t.get("foot"), t.get("access")
    if foot in ("no", "private", "use_sidepath"):
        return False
    if access in ("no", "private") and foot not in FOOT_OK:
        return False
    if t.get("motorroad") == "yes" and foot not in FOOT_OK:
        return False
    if hw in ("trunk", "trunk_link"):
        sides = [t.get(k) for k in ("sidewalk", "sidewalk:both", "sidewalk:left",
                                    "sidewalk:right")]
        return foot in FOOT_OK or any(s in ("yes", "both", "left", "right", "separate")
                                      for s in sides)
    return hw in ALWAYS


def oracle_steps(t: dict[str, str]) -> bool:
    count = t.get("step_count", "0")
    return (t.get("highway") == "steps" or t.get("wheelchair") == "no"
            or (count.isdigit() and int(count) > 0))


def oracle_barrier(t: dict[str, str]) -> str | None:
    barrier, kerb, foot = t.get("barrier"), t.get("kerb"), t.get("foot")
    if barrier is None:
        return "step" if kerb == "raised" else None
    if foot in ("no", "private", "use_sidepath"):
        return "closed"
    vehicle_only = barrier in ("bollard", "block", "bus_trap", "chain", "cycle_barrier",
                               "height_restrictor", "kerb", "lift_gate", "motorcycle_barrier",
                               "sump_buster", "swing_gate")
    if not vehicle_only and t.get("access") in ("no", "private") and foot not in FOOT_OK:
        return "closed"
    if barrier in ("stile", "step", "kissing_gate", "turnstile", "full-height_turnstile"):
        return "step"
    if t.get("wheelchair") == "no":
        return "step"
    if barrier == "kerb" and kerb not in ("lowered", "flush", "no", "rolled"):
        return "step"
    return None


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6_371_008.8 * math.asin(math.sqrt(a))


@dataclass
class OsmOracle:
    typical: nx.Graph
    step_free: nx.Graph
    location: dict[int, tuple[float, float]]
    barriers: dict[int, str]
    steps_segments: set[frozenset[tuple[float, float]]]
    excluded_nodes: set[int]  # nodes only on ways nobody may walk (foot=no, motorway, ...)


def oracle_graph(ways: list[tuple[list[int], bool]], location: dict[int, tuple[float, float]],
                 barriers: dict[int, str], *, step_free: bool) -> nx.Graph:
    """The walkable graph, written independently of assetmap.walking: a way's segment is cut
    where a barrier blocks it (at a junction, only for the ways that end there)."""
    g = nx.Graph()
    neighbours: dict[int, set[int]] = defaultdict(set)
    ending: dict[int, set[int]] = defaultdict(set)  # barrier node -> ways ending there
    for w, (refs, _) in enumerate(ways):
        for x, y in zip(refs, refs[1:], strict=False):
            if x != y:
                neighbours[x].add(y)
                neighbours[y].add(x)
        ending[refs[0]].add(w)
        ending[refs[-1]].add(w)
    blocked = {n for n, k in barriers.items() if k == "closed" or (step_free and k == "step")}

    def behind(w: int, x: int, y: int) -> bool:
        cut = False
        for n in (x, y):
            if n in blocked:
                junction = len(neighbours[n]) >= 3 and ending[n]
                cut |= (w in ending[n]) if junction else True
        return cut

    for w, (refs, steps) in enumerate(ways):
        if step_free and steps:
            continue
        for x, y in zip(refs, refs[1:], strict=False):
            if x == y or behind(w, x, y):
                continue
            d = metres(*location[x], *location[y])
            if not g.has_edge(x, y) or g[x][y]["weight"] > d:
                g.add_edge(x, y, weight=d)
    # A blocked pass-through node keeps no edges; drop it so it cannot join anything.
    g.remove_nodes_from([n for n in blocked if n in g and g.degree(n) == 0])
    return g


def build_oracle(path: Path) -> OsmOracle:
    location: dict[int, tuple[float, float]] = {}
    barriers: dict[int, str] = {}
    ways: list[tuple[list[int], bool]] = []
    on_excluded: set[int] = set()
    for obj in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        tags = dict(obj.tags)
        if obj.is_node():
            location[obj.id] = (obj.location.lat, obj.location.lon)
            kind = oracle_barrier(tags)
            if kind:
                barriers[obj.id] = kind
        elif "highway" in tags:
            refs = [n.ref for n in obj.nodes]
            if oracle_walkable(tags):
                ways.append((refs, oracle_steps(tags)))
            else:
                on_excluded.update(refs)

    steps_segments = {
        frozenset({location[x], location[y]})
        for refs, steps in ways if steps for x, y in zip(refs, refs[1:], strict=False)
    }
    walkable_nodes = {n for refs, _ in ways for n in refs}
    return OsmOracle(oracle_graph(ways, location, barriers, step_free=False),
                     oracle_graph(ways, location, barriers, step_free=True), location, barriers,
                     steps_segments,
                     on_excluded - walkable_nodes)


@pytest.fixture(scope="session")
def paths() -> dict[str, Path]:
    """The OSM fixture files (test modules cannot import this conftest)."""
    return {"granary": GRANARY, "rules": RULES, "no_walkable": NO_WALKABLE}


@pytest.fixture(scope="session")
def ref_metres():
    """The reference haversine, written independently of the code under test."""
    return metres


@pytest.fixture(scope="session")
def granary_graph() -> WalkGraph:
    return build_graph(GRANARY)


@pytest.fixture(scope="session")
def granary(granary_graph: WalkGraph) -> Router:
    return Router(granary_graph)


@pytest.fixture(scope="session")
def granary_oracle() -> OsmOracle:
    return build_oracle(GRANARY)


@pytest.fixture(scope="session")
def rules_graph() -> WalkGraph:
    return build_graph(RULES)


@pytest.fixture(scope="session")
def rules(rules_graph: WalkGraph) -> Router:
    return Router(rules_graph)


@pytest.fixture(scope="session")
def rules_oracle() -> OsmOracle:
    return build_oracle(RULES)


@pytest.fixture(scope="session")
def camden_path() -> Path:
    return CAMDEN


@pytest.fixture(scope="session")
def camden_graph(camden_path: Path) -> WalkGraph:
    return build_graph(camden_path)


@pytest.fixture(scope="session")
def camden(camden_graph: WalkGraph) -> Router:
    return Router(camden_graph)


@pytest.fixture(scope="session")
def camden_oracle(camden_path: Path) -> OsmOracle:
    return build_oracle(camden_path)
