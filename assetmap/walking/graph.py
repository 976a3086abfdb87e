"""Build a walking graph from an OpenStreetMap extract, and cache it as a numpy ``.npz``.

An OSM extract is not a routing graph. This module keeps only ways a person may walk on, makes
every one of them two-way, measures segments in metres (haversine), turns barriers on nodes
into graph structure, and compresses chains of degree-2 nodes into single edges while keeping
their exact geometry so routes can still be drawn.

Barriers on nodes (decided here once, so the router only ever looks at edge flags):

* A barrier closed to walkers (``foot=no|private``, or ``access=no|private`` without a foot
  permission, e.g. a private estate gate) splits the node: the ways that meet there no longer
  connect through it. Barriers that only stop vehicles (bollard, lift_gate, cycle_barrier...)
  close only with an explicit ``foot=no|private``: their ``access=no`` is about vehicles.
* A step-like barrier (``barrier=stile|step|kissing_gate|turnstile|full-height_turnstile``,
  a raised kerb, or any barrier tagged ``wheelchair=no``) also splits the node, but the pieces
  are rejoined by zero-length edges flagged in ``edge_has_steps``: free for a typical walker,
  closed to the step-free profile.
* Which ways are separated: where the barrier sits at a junction (3+ neighbours) and some ways
  end there (a gate at the mouth of a driveway), only those ways are behind the barrier and the
  through street stays open; otherwise every way through the node is separated.

Ways are flagged in ``edge_has_steps`` when ``highway=steps``, ``step_count`` > 0 or
``wheelchair=no``. Area pedestrian ways (``area=yes``) are walked along their outline;
multipolygon relations are not read.

Street names are kept here, at build time, so nothing downstream re-reads the extract: every
edge has a label (``edge_street``, an index into the graph's street table). A label is the way's
``name``; an unnamed way is called by what it is ("the footpath"); a crossing is
:data:`CROSSING`; an unnamed pavement mapped as its own way takes the name of the street it runs
beside (within :data:`SIDEWALK_MATCH_M`). Chains are not merged across a change of label, so an
edge never spans two streets.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assetmap.errors import AssetMapError
from assetmap.geo import METRES_PER_DEGREE, haversine_m

#: 2: street labels per edge (``edge_street`` and the street table).
FORMAT_VERSION = 2

WALKABLE_HIGHWAYS = frozenset({
    "footway", "path", "pedestrian", "steps", "residential", "living_street", "service",
    "unclassified", "tertiary", "tertiary_link", "secondary", "secondary_link", "primary",
    "primary_link", "track", "bridleway", "cycleway", "corridor", "crossing", "road",
})
#: Walkable only with an explicit foot permission or a sidewalk.
SIDEWALK_ONLY_HIGHWAYS = frozenset({"trunk", "trunk_link"})
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive"})
FOOT_DENIED = frozenset({"no", "private", "use_sidepath"})
ACCESS_DENIED = frozenset({"no", "private"})
SIDEWALK_PRESENT = frozenset({"yes", "both", "left", "right", "separate"})
STEP_BARRIERS = frozenset({"stile", "step", "kissing_gate", "turnstile", "full-height_turnstile"})
STEP_FREE_KERBS = frozenset({"lowered", "flush", "no", "rolled"})
#: Barriers a pedestrian walks past; an ``access=no`` on them means vehicles.
VEHICLE_BARRIERS = frozenset({
    "bollard", "block", "bus_trap", "chain", "cycle_barrier", "height_restrictor", "kerb",
    "lift_gate", "motorcycle_barrier", "sump_buster", "swing_gate",
})

NPZ_SUFFIX = ".walkgraph.npz"

#: Ways without a name are described by what they are.
UNNAMED_LABELS = {
    "footway": "the footpath", "path": "the path", "pedestrian": "the pedestrian street",
    "cycleway": "the path", "steps": "the steps", "service": "the service road",
    "track": "the track", "bridleway": "the path", "corridor": "the passage",
    "living_street": "the street", "residential": "the street", "unclassified": "the road",
}
#: The label of a way that crosses a road (``footway=crossing`` or ``highway=crossing``).
CROSSING = "crossing"
#: How far an unnamed pavement may lie from the named street it takes its name from.
SIDEWALK_MATCH_M = 30.0
#: Named ways that are not streets a pavement runs beside.
_NOT_BESIDE = frozenset({"footway", "path", "steps", "cycleway"})
#: What a street is, for drawing it the way the basemap does (``assetmap/maps/profile.lua``).
STREET_KINDS = ("minor", "major", "service", "path")
_KIND_OF = {
    **dict.fromkeys(("trunk", "trunk_link", "primary", "primary_link", "secondary",
                     "secondary_link"), "major"),
    "service": "service",
    **dict.fromkeys(("footway", "path", "pedestrian", "steps", "cycleway", "bridleway", "track",
                     "corridor", "crossing"), "path"),
}


class WalkingNetworkError(AssetMapError, ValueError):
    """An OSM file cannot be turned into a walking network, or a cache file is unusable."""


@dataclass(frozen=True)
class GraphMeta:
    """What a cache file holds, readable without loading the arrays."""

    name: str
    source: str
    built_at: float
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    n_nodes: int
    n_edges: int
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps({**self.__dict__, "bbox": list(self.bbox)})

    @classmethod
    def from_json(cls, text: str) -> GraphMeta:
        data = json.loads(text)
        return cls(**{**data, "bbox": tuple(data["bbox"])})


@dataclass(frozen=True)
class Street:
    """What an edge is called: a street's name, or words for an unnamed way ("the path")."""

    label: str
    named: bool  # a real name, worth putting on a map or in "turn onto ..."
    kind: str = "minor"  # one of STREET_KINDS: how a map draws it


@dataclass(frozen=True, eq=False)
class WalkGraph:
    """An undirected walking graph as flat numpy arrays (CSR adjacency + edge geometry).

    Every undirected edge ``e`` joins ``edge_u[e]`` and ``edge_v[e]``; its polyline is
    ``geom_lat/geom_lon[geom_indptr[e]:geom_indptr[e + 1]]`` running from u to v, with
    ``geom_cum`` the metres from u at each vertex. The CSR arrays hold each edge in both
    directions (self-loops are left out: they never shorten a walk); ``csr_edge`` maps a CSR
    entry back to its edge.

    Street labels: ``edge_street[e]`` indexes the street table (-1 for the zero-length joins
    that stand for a step barrier). The table is UTF-8 text, ``street_text[street_indptr[i]:
    street_indptr[i + 1]]``, with ``street_named[i]`` and ``street_kind[i]`` (an index into
    :data:`STREET_KINDS`): flat arrays, so the cache needs no pickle.
    """

    meta: GraphMeta
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_osm_id: np.ndarray
    node_component: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray
    csr_edge: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_metres: np.ndarray
    edge_has_steps: np.ndarray
    geom_indptr: np.ndarray
    geom_lat: np.ndarray
    geom_lon: np.ndarray
    geom_cum: np.ndarray
    hull_lon: np.ndarray
    hull_lat: np.ndarray
    edge_street: np.ndarray
    street_text: np.ndarray
    street_indptr: np.ndarray
    street_named: np.ndarray
    street_kind: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.node_lat)

    @property
    def n_edges(self) -> int:
        return len(self.edge_u)

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return sum(a.nbytes for a in _arrays(self).values())

    @cached_property
    def vertex_edge(self) -> np.ndarray:
        """For each geometry vertex, the edge it belongs to (for box queries on streets)."""
        return np.repeat(np.arange(self.n_edges), np.diff(self.geom_indptr))

    def edge_geometry(self, edge: int) -> tuple[np.ndarray, np.ndarray]:
        """(lats, lons) of an edge's polyline, from edge_u to edge_v."""
        lo, hi = self.geom_indptr[edge], self.geom_indptr[edge + 1]
        return self.geom_lat[lo:hi], self.geom_lon[lo:hi]

    @cached_property
    def streets(self) -> tuple[Street, ...]:
        """The street table, decoded once."""
        text = self.street_text.tobytes()
        ptr = self.street_indptr.tolist()
        return tuple(Street(text[lo:hi].decode(), bool(named), STREET_KINDS[kind])
                     for lo, hi, named, kind in zip(ptr[:-1], ptr[1:], self.street_named.tolist(),
                                                    self.street_kind.tolist(), strict=True))

    def street(self, edge: int) -> Street | None:
        """What an edge is called (None for an edge that is only a step join, or edge -1)."""
        if edge < 0:
            return None
        index = int(self.edge_street[edge])
        return self.streets[index] if index >= 0 else None

    def streets_along(self, edges: Sequence[int]) -> list[Street | None]:
        """The street of each segment of a route, given its edges (see ``Route.edges``)."""
        return [self.street(int(e)) for e in edges]


def is_walkable(tags: Any) -> bool:
    """Whether a way with these tags may be walked (in both directions; oneway is ignored)."""
    highway = tags.get("highway")
    foot = tags.get("foot")
    if foot in FOOT_DENIED:
        return False
    if highway in SIDEWALK_ONLY_HIGHWAYS:
        sidewalks = (tags.get(k) for k in ("sidewalk", "sidewalk:both", "sidewalk:left",
                                           "sidewalk:right"))
        if foot not in FOOT_ALLOWED and not any(s in SIDEWALK_PRESENT for s in sidewalks):
            return False
    elif highway not in WALKABLE_HIGHWAYS:
        return False
    if tags.get("motorroad") == "yes" and foot not in FOOT_ALLOWED:
        return False
    return not (tags.get("access") in ACCESS_DENIED and foot not in FOOT_ALLOWED)


def way_has_steps(tags: Any) -> bool:
    """Whether a walkable way is not step-free."""
    if tags.get("highway") == "steps" or tags.get("wheelchair") == "no":
        return True
    try:
        return int(tags.get("step_count", "0")) > 0
    except ValueError:
        return False


def node_barrier(tags: Any) -> str | None:
    """'closed' (no walking through), 'step' (not step-free) or None for a node's tags."""
    barrier = tags.get("barrier")
    kerb = tags.get("kerb")
    if barrier is None:
        return "step" if kerb == "raised" else None
    foot = tags.get("foot")
    if foot in FOOT_DENIED:
        return "closed"
    if (barrier not in VEHICLE_BARRIERS and tags.get("access") in ACCESS_DENIED
            and foot not in FOOT_ALLOWED):
        return "closed"
    if barrier in STEP_BARRIERS or tags.get("wheelchair") == "no":
        return "step"
    if barrier == "kerb" and kerb not in STEP_FREE_KERBS:
        return "step"
    return None


def default_name(osm_path: Path) -> str:
    """The name a network or tileset gets from its extract when none is given: the file's
    name up to its first dot ('camden' for camden.osm.pbf or camden.2026-05.osm.pbf), so it
    is a valid name (no dots) and the network and the basemap of one extract share it."""
    return osm_path.name.split(".")[0] or osm_path.name


def build_graph(osm_path: Path, name: str | None = None, *, within: Any = None) -> WalkGraph:
    """Read an OSM extract (.osm.pbf, .osm, .osm.gz ...) into a compressed walking graph.

    `within` (a shapely polygon in lon/lat, e.g. the place's boundary plus a margin) keeps
    only the streets inside it: an extract is usually cut wider than the place it serves.
    """
    osm_path = Path(osm_path)
    if not osm_path.is_file():
        raise WalkingNetworkError(f"OSM file not found: {osm_path}")
    ways, barriers, streets = _read_osm(osm_path)
    if within is not None and ways:
        ways = _clip(ways, within)
    if not ways:
        raise WalkingNetworkError(
            f"{osm_path.name} has no walkable ways (no highway=* way a person may walk on)"
        )
    segs = _segments(ways)
    segs = _apply_barriers(segs, ways, barriers)
    if not len(segs.a):
        raise WalkingNetworkError(f"{osm_path.name} has no walkable ways with node locations")
    return _compress(segs, name or default_name(osm_path), osm_path.name, streets)


# --- reading -------------------------------------------------------------------------------


@dataclass
class _Way:
    refs: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    steps: bool
    street: int = -1  # index into the street table


def way_street(tags: Any) -> Street:
    """A way's label before pavements are matched to their streets."""
    highway = tags.get("highway") or ""
    kind = _KIND_OF.get(highway, "minor")
    if tags.get("footway") == "crossing" or highway == "crossing":
        return Street(CROSSING, False, "path")
    name = tags.get("name")
    if name:
        return Street(name, True, kind)
    return Street(UNNAMED_LABELS.get(highway, "the road"), False, kind)


class _StreetTable:
    """Labels as they are met, each stored once; pavements named after reading every way."""

    def __init__(self) -> None:
        self.index: dict[Street, int] = {}
        self.named_points: list[tuple[float, float, Street]] = []  # along named streets
        self.sidewalks: list[tuple[list[_Way], float, float]] = []

    def add(self, street: Street) -> int:
        return self.index.setdefault(street, len(self.index))

    def add_way(self, tags: Any, pieces: list[_Way]) -> None:
        street = way_street(tags)
        number = self.add(street)
        for piece in pieces:
            piece.street = number
        if not pieces:
            return
        if street.named and tags.get("highway") not in _NOT_BESIDE:
            for piece in pieces:
                self.named_points.extend(_densify(piece.lat, piece.lon, street))
        elif not street.named and tags.get("footway") == "sidewalk":
            mid = pieces[0]
            k = len(mid.lat) // 2
            self.sidewalks.append((pieces, float(mid.lat[k]), float(mid.lon[k])))

    def name_sidewalks(self) -> None:
        """A pavement mapped as its own way takes the name of the street it runs beside."""
        if not self.sidewalks or not self.named_points:
            return
        from scipy.spatial import cKDTree  # only builds need it

        pts = np.array([(p[0], p[1]) for p in self.named_points])
        ky = METRES_PER_DEGREE
        kx = ky * np.cos(np.radians(float(pts[:, 0].mean())))
        tree = cKDTree(np.column_stack([pts[:, 1] * kx, pts[:, 0] * ky]))
        for pieces, lat, lon in self.sidewalks:
            dist, nearest = tree.query((lon * kx, lat * ky))
            if dist <= SIDEWALK_MATCH_M:
                beside = self.named_points[nearest][2]
                number = self.add(Street(beside.label, True, "path"))  # named, drawn as a path
                for piece in pieces:
                    piece.street = number

    def arrays(self, edge_street: np.ndarray) -> dict[str, np.ndarray]:
        """The table as flat arrays, keeping only the streets some edge is on (an extract is
        often cut wider than the network), and ``edge_street`` renumbered to match."""
        table = list(self.index)
        used = np.unique(edge_street[edge_street >= 0])
        renumber = np.full(len(table) + 1, -1, np.int32)  # [-1] stays -1
        renumber[used] = np.arange(len(used), dtype=np.int32)
        encoded = [table[i].label.encode() for i in used.tolist()]
        return {
            "edge_street": renumber[edge_street],
            "street_text": np.frombuffer(b"".join(encoded), np.uint8).copy(),
            "street_indptr": np.concatenate([[0], np.cumsum([len(e) for e in encoded])]
                                            ).astype(np.int64),
            "street_named": np.array([table[i].named for i in used.tolist()], bool),
            "street_kind": np.array([STREET_KINDS.index(table[i].kind) for i in used.tolist()],
                                    np.uint8),
        }


def _densify(lat: np.ndarray, lon: np.ndarray, street: Street,
             step_m: float = 10.0) -> list[tuple[float, float, Street]]:
    """Points every ``step_m`` along a way, for matching pavements to it."""
    out: list[tuple[float, float, Street]] = []
    for la1, lo1, la2, lo2 in zip(lat[:-1], lon[:-1], lat[1:], lon[1:], strict=True):
        pieces = max(1, int(haversine_m(la1, lo1, la2, lo2) // step_m))
        out.extend((float(la1 + (la2 - la1) * i / pieces), float(lo1 + (lo2 - lo1) * i / pieces),
                    street) for i in range(pieces))
    out.append((float(lat[-1]), float(lon[-1]), street))
    return out


def _read_osm(osm_path: Path) -> tuple[list[_Way], dict[int, str], _StreetTable]:
    import osmium  # only builds need the reader

    processor = (
        osmium.FileProcessor(str(osm_path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        # osmium's stubs say enable_for returns None; it returns the filter, for chaining.
        .with_filter(osmium.filter.KeyFilter("barrier", "kerb")
                     .enable_for(osmium.osm.NODE))  # type: ignore[func-returns-value]
        .with_filter(osmium.filter.KeyFilter("highway")
                     .enable_for(osmium.osm.WAY))  # type: ignore[func-returns-value]
    )
    ways: list[_Way] = []
    barriers: dict[int, str] = {}
    streets = _StreetTable()
    try:
        for obj in processor:
            if isinstance(obj, osmium.osm.Node):
                kind = node_barrier(obj.tags)
                if kind:
                    barriers[obj.id] = kind
            elif is_walkable(obj.tags):
                pieces = _way_pieces(obj, way_has_steps(obj.tags))
                streets.add_way(obj.tags, pieces)
                ways.extend(pieces)
    except RuntimeError as exc:  # libosmium reports unreadable input as RuntimeError
        raise WalkingNetworkError(f"{osm_path.name} is not readable OSM data: {exc}") from exc
    streets.name_sidewalks()
    return ways, barriers, streets


def _way_pieces(way: Any, steps: bool) -> list[_Way]:
    """The way's node list, split where a node has no location (clipped extracts)."""
    pieces: list[_Way] = []
    refs: list[int] = []
    lats: list[float] = []
    lons: list[float] = []
    for node in [*way.nodes, None]:
        loc = node.location if node is not None else None
        if loc is not None and loc.valid():
            refs.append(node.ref)
            lats.append(loc.lat)
            lons.append(loc.lon)
            continue
        if len(refs) >= 2:
            pieces.append(_Way(np.array(refs, np.int64), np.array(lats), np.array(lons), steps))
        refs, lats, lons = [], [], []
    return pieces


def _clip(ways: list[_Way], within: Any) -> list[_Way]:
    """The parts of ways whose nodes lie inside `within` (one vectorised test for all nodes)."""
    import shapely  # only builds need it

    shapely.prepare(within)
    inside = shapely.contains_xy(within, np.concatenate([w.lon for w in ways]),
                                 np.concatenate([w.lat for w in ways]))
    pieces: list[_Way] = []
    start = 0
    for way in ways:
        mask = inside[start:start + len(way.refs)]
        start += len(way.refs)
        if mask.all():
            pieces.append(way)
            continue
        # Runs of consecutive inside nodes, each at least one segment long.
        edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
        for lo, hi in zip(edges[::2], edges[1::2], strict=True):
            if hi - lo >= 2:
                pieces.append(_Way(way.refs[lo:hi], way.lat[lo:hi], way.lon[lo:hi], way.steps,
                                   way.street))
    return pieces


# --- segments and barriers -----------------------------------------------------------------


@dataclass
class _Segments:
    """Node-to-node segments over dense node ids (before compression)."""

    a: np.ndarray
    b: np.ndarray
    metres: np.ndarray
    steps: np.ndarray
    way: np.ndarray
    street: np.ndarray  # the street table index of each segment (-1: a step join)
    node_lat: np.ndarray
    node_lon: np.ndarray
    node_osm_id: np.ndarray


def _segments(ways: list[_Way]) -> _Segments:
    refs = np.concatenate([w.refs for w in ways])
    lat = np.concatenate([w.lat for w in ways])
    lon = np.concatenate([w.lon for w in ways])
    osm_ids, first, dense = np.unique(refs, return_index=True, return_inverse=True)
    sizes = np.array([len(w.refs) for w in ways])
    start = np.concatenate([[0], np.cumsum(sizes)])
    # A segment joins position i and i+1 within the same way.
    is_seg = np.ones(len(refs), bool)
    is_seg[start[1:] - 1] = False
    i = np.flatnonzero(is_seg)
    a, b = dense[i], dense[i + 1]
    way = np.repeat(np.arange(len(ways)), sizes)[i]
    steps = np.array([w.steps for w in ways])[way]
    street = np.array([w.street for w in ways], np.int32)[way]
    keep = a != b
    node_lat, node_lon = lat[first], lon[first]
    metres = haversine_m(node_lat[a], node_lon[a], node_lat[b], node_lon[b])
    return _Segments(a[keep], b[keep], metres[keep], steps[keep], way[keep], street[keep],
                     node_lat, node_lon, osm_ids)


def _apply_barriers(segs: _Segments, ways: list[_Way], barriers: dict[int, str]) -> _Segments:
    """Split barrier nodes (see module docstring) so edge flags alone express them."""
    dense_of = {int(osm): i for i, osm in enumerate(segs.node_osm_id) if int(osm) in barriers}
    if not dense_of:
        return segs
    incident: dict[int, list[tuple[int, int]]] = defaultdict(list)  # node -> (segment, end)
    for end, arr in ((0, segs.a), (1, segs.b)):
        for seg in np.flatnonzero(np.isin(arr, list(dense_of.values()))):
            incident[int(arr[seg])].append((int(seg), end))
    ends_of_way = {(int(w.refs[0]), i) for i, w in enumerate(ways)}
    ends_of_way |= {(int(w.refs[-1]), i) for i, w in enumerate(ways)}

    a, b = segs.a.copy(), segs.b.copy()
    n = len(segs.node_lat)
    copies: list[int] = []  # dense node each new node copies
    joins: list[tuple[int, int]] = []  # zero-length step edges (hub, copy)
    for osm_id, node in dense_of.items():
        inc = incident.get(node, [])
        neighbours = {int(segs.b[s] if end == 0 else segs.a[s]) for s, end in inc}
        ending = [(s, e) for s, e in inc if (osm_id, int(segs.way[s])) in ends_of_way]
        behind = ending if len(neighbours) >= 3 and ending else inc
        for s, end in behind:
            (a if end == 0 else b)[s] = n + len(copies)
            copies.append(node)
            if barriers[osm_id] == "step":
                joins.append((node, n + len(copies) - 1))
    src = np.array(copies, np.int64)
    ja = np.array([j[0] for j in joins], np.int64)
    jb = np.array([j[1] for j in joins], np.int64)
    return _Segments(
        np.concatenate([a, ja]), np.concatenate([b, jb]),
        np.concatenate([segs.metres, np.zeros(len(joins))]),
        np.concatenate([segs.steps, np.ones(len(joins), bool)]),
        np.concatenate([segs.way, np.full(len(joins), -1)]),
        np.concatenate([segs.street, np.full(len(joins), -1, np.int32)]),
        np.concatenate([segs.node_lat, segs.node_lat[src]]),
        np.concatenate([segs.node_lon, segs.node_lon[src]]),
        np.concatenate([segs.node_osm_id, segs.node_osm_id[src]]),
    )


# --- compression ---------------------------------------------------------------------------


def _compress(segs: _Segments, name: str, source: str, streets: _StreetTable) -> WalkGraph:
    """Merge chains of degree-2 nodes into edges; keep nodes where the step flag or the
    street changes."""
    n_all = len(segs.node_lat)
    n_seg = len(segs.a)
    ends = np.concatenate([segs.a, segs.b])
    order = np.argsort(ends, kind="stable")
    inc_ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n_all))])
    inc_seg = (order % n_seg).tolist()
    inc_ptr_l = inc_ptr.tolist()
    degree = np.diff(inc_ptr)
    seg_a, seg_b = segs.a.tolist(), segs.b.tolist()
    steps_l = segs.steps.tolist()
    metres_l = segs.metres.tolist()

    keep = degree != 2
    two = np.flatnonzero(degree == 2)
    first, second = order[inc_ptr[two]] % n_seg, order[inc_ptr[two] + 1] % n_seg
    keep[two[(segs.steps[first] != segs.steps[second])
             | (segs.street[first] != segs.street[second])]] = True

    used = np.zeros(n_seg, bool)
    chains: list[tuple[int, int, list[int], float, bool, int]] = []
    street_l = segs.street.tolist()

    def walk(start: int, seg: int) -> None:
        nodes = [start]
        node, total, steps, street = start, 0.0, steps_l[seg], street_l[seg]
        while True:
            used[seg] = True
            total += metres_l[seg]
            node = seg_b[seg] if seg_a[seg] == node else seg_a[seg]
            nodes.append(node)
            if keep[node]:
                break
            lo = inc_ptr_l[node]
            seg = inc_seg[lo] if inc_seg[lo] != seg else inc_seg[lo + 1]
        chains.append((start, node, nodes, total, steps, street))

    for start in np.flatnonzero(keep & (degree > 0)).tolist():
        for k in range(inc_ptr_l[start], inc_ptr_l[start + 1]):
            if not used[inc_seg[k]]:
                walk(start, inc_seg[k])
    for seg in np.flatnonzero(~used).tolist():  # closed rings with no junction at all
        if not used[seg]:
            keep[seg_a[seg]] = True
            walk(seg_a[seg], seg)

    kept = np.flatnonzero(keep & (degree > 0))
    new_id = np.full(n_all, -1, np.int64)
    new_id[kept] = np.arange(len(kept))
    edge_u = new_id[np.array([c[0] for c in chains])].astype(np.int32)
    edge_v = new_id[np.array([c[1] for c in chains])].astype(np.int32)
    edge_metres = np.array([c[3] for c in chains])
    edge_has_steps = np.array([c[4] for c in chains], bool)
    edge_street = np.array([c[5] for c in chains], np.int32)
    sizes = np.array([len(c[2]) for c in chains])
    geom_nodes = np.concatenate([np.array(c[2], np.int64) for c in chains])
    geom_indptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    geom_lat, geom_lon = segs.node_lat[geom_nodes], segs.node_lon[geom_nodes]
    geom_cum = _cumulative_metres(geom_lat, geom_lon, geom_indptr)

    node_lat, node_lon = segs.node_lat[kept], segs.node_lon[kept]
    indptr, indices, weights, csr_edge = _csr(len(kept), edge_u, edge_v, edge_metres)
    hull_lon, hull_lat = _hull(geom_lon, geom_lat)
    meta = GraphMeta(
        name=name, source=source, built_at=time.time(),
        bbox=(float(geom_lon.min()), float(geom_lat.min()),
              float(geom_lon.max()), float(geom_lat.max())),
        n_nodes=len(kept), n_edges=len(chains),
    )
    return WalkGraph(
        meta=meta, node_lat=node_lat, node_lon=node_lon, node_osm_id=segs.node_osm_id[kept],
        node_component=_components(len(kept), indptr, indices, weights),
        indptr=indptr, indices=indices, weights=weights, csr_edge=csr_edge,
        edge_u=edge_u, edge_v=edge_v, edge_metres=edge_metres, edge_has_steps=edge_has_steps,
        geom_indptr=geom_indptr, geom_lat=geom_lat, geom_lon=geom_lon, geom_cum=geom_cum,
        hull_lon=hull_lon, hull_lat=hull_lat, **streets.arrays(edge_street),
    )


def _cumulative_metres(lat: np.ndarray, lon: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    step = np.zeros(len(lat))
    step[1:] = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    step[indptr[:-1]] = 0.0  # each edge starts afresh
    cum = np.cumsum(step)
    return cum - np.repeat(cum[indptr[:-1]], np.diff(indptr))


def _csr(
    n: int, u: np.ndarray, v: np.ndarray, metres: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    edges = np.flatnonzero(u != v)
    src = np.concatenate([u[edges], v[edges]])
    dst = np.concatenate([v[edges], u[edges]])
    eid = np.concatenate([edges, edges])
    order = np.argsort(src, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=n))]).astype(np.int32)
    return (indptr, dst[order].astype(np.int32), metres[eid[order]],
            eid[order].astype(np.int32))


def _components(n: int, indptr: np.ndarray, indices: np.ndarray,
                weights: np.ndarray) -> np.ndarray:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    matrix = csr_matrix((weights, indices, indptr), shape=(n, n))
    return connected_components(matrix, directed=False)[1].astype(np.int32)


def _hull(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convex hull ring of the network, for 'which network covers this point'."""
    import shapely

    hull = shapely.convex_hull(shapely.multipoints(np.column_stack([lon, lat])))
    if hull.geom_type != "Polygon":  # a single straight street: give it some width
        hull = hull.buffer(1e-4)
    ring = np.asarray(hull.exterior.coords)
    return ring[:, 0].copy(), ring[:, 1].copy()


# --- cache ---------------------------------------------------------------------------------


_ARRAY_FIELDS = (
    "node_lat", "node_lon", "node_osm_id", "node_component", "indptr", "indices", "weights",
    "csr_edge", "edge_u", "edge_v", "edge_metres", "edge_has_steps", "geom_indptr", "geom_lat",
    "geom_lon", "geom_cum", "hull_lon", "hull_lat", "edge_street", "street_text",
    "street_indptr", "street_named", "street_kind",
)


def _arrays(graph: WalkGraph) -> dict[str, np.ndarray]:
    return {f: getattr(graph, f) for f in _ARRAY_FIELDS}


def save_graph(graph: WalkGraph, path: Path) -> None:
    """Write the cache atomically: a crash mid-write leaves any previous file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = np.frombuffer(graph.meta.to_json().encode(), np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; other workers must read it
        with os.fdopen(fd, "wb") as fh:
            # uncompressed: loads faster; numpy's stubs read **arrays as its allow_pickle flag
            np.savez(fh, meta=meta, **_arrays(graph))  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def read_hull(path: Path) -> tuple[GraphMeta, np.ndarray, np.ndarray]:
    """Metadata and coverage hull of a cache file, without the graph arrays (npz is lazy)."""
    with _open_npz(path) as npz:
        meta = _meta(npz, path)
        try:
            return meta, npz["hull_lon"], npz["hull_lat"]
        except _DAMAGED as exc:
            raise WalkingNetworkError(f"{Path(path).name} is a damaged network cache") from exc


def load_graph(path: Path) -> WalkGraph:
    """Load a cache written by :func:`save_graph` (no pickle: arrays and JSON only)."""
    with _open_npz(path) as npz:
        meta = _meta(npz, path)
        try:
            arrays = {f: npz[f] for f in _ARRAY_FIELDS}
        except _DAMAGED as exc:
            raise WalkingNetworkError(f"{Path(path).name} is a damaged network cache") from exc
    return WalkGraph(meta=meta, **arrays)


def _open_npz(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _DAMAGED as exc:
        raise WalkingNetworkError(f"{Path(path).name} is not a network cache file") from exc


def _meta(npz: Any, path: Path) -> GraphMeta:
    try:
        meta = GraphMeta.from_json(npz["meta"].tobytes().decode())
    except (*_DAMAGED, TypeError) as exc:
        raise WalkingNetworkError(f"{Path(path).name} is not a network cache file") from exc
    if meta.format_version != FORMAT_VERSION:
        raise WalkingNetworkError(
            f"{Path(path).name} is network cache format {meta.format_version}, this code reads "
            f"{FORMAT_VERSION}: rebuild it"
        )
    return meta

