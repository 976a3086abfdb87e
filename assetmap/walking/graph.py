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

The cache. Everything a router needs is computed once, at build time, and stored: the graph,
the search graph of each step rule (with a spare row for the query's virtual origin) and a grid
of street segments for snapping. The file is an uncompressed ``.npz`` whose members start on
64-byte boundaries, and :func:`load_graph` maps it read-only instead of reading it: every web
worker serving the same network shares one copy of its arrays in the page cache, so a city's
network costs its memory once, not once per worker.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
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
#: 3: arrays memory-mapped from an aligned, uncompressed file; search graphs and snap grid stored.
FORMAT_VERSION = 3
#: Side of a snapping grid cell, metres: a few street segments per cell in a city.
GRID_CELL_M = 50.0
#: A grid never has more cells than this (a county's network gets coarser cells).
GRID_MAX_CELLS = 4_000_000

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


@dataclass(frozen=True)
class CacheMapping:
    """The cache file a loaded graph's arrays are views of, and each array's byte offset."""

    path: Path
    offsets: dict[str, int]


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
    vertex_edge: np.ndarray
    geom_x: np.ndarray
    geom_y: np.ndarray
    grid_origin: np.ndarray
    grid_shape: np.ndarray
    grid_ptr: np.ndarray
    grid_seg: np.ndarray
    search_indptr: np.ndarray
    search_indices: np.ndarray
    search_weights: np.ndarray
    stepfree_indptr: np.ndarray
    stepfree_indices: np.ndarray
    stepfree_weights: np.ndarray
    #: Where the arrays are mapped from (None for a graph built in this process).
    mapping: CacheMapping | None = None

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

    def search_arrays(self, avoid_steps: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, indices, weights) of the search graph for a step rule: the CSR without
        the edges that rule may not walk, plus a last row (node ``n_nodes``) of two entries
        that each query points at the ends of its origin's edge."""
        if avoid_steps:
            return self.stepfree_indptr, self.stepfree_indices, self.stepfree_weights
        return self.search_indptr, self.search_indices, self.search_weights

    def writable_copy(self, field: str) -> np.ndarray:
        """A private, writable copy of one array (a query rewrites a few entries of it).

        For a mapped graph the copy is a copy-on-write mapping of the same file: it costs the
        pages actually written (one or two), not the array's size, in every worker thread.
        """
        array = getattr(self, field)
        if self.mapping is None or not array.size:
            return np.array(array)
        return np.memmap(self.mapping.path, dtype=array.dtype, mode="c", shape=array.shape,
                         offset=self.mapping.offsets[field]).view(np.ndarray)

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
    sizes = np.array([len(c[2]) for c in chains])
    geom_nodes = np.concatenate([np.array(c[2], np.int64) for c in chains])
    return assemble_graph(
        name, source, node_lat=segs.node_lat[kept], node_lon=segs.node_lon[kept],
        node_osm_id=segs.node_osm_id[kept],
        edge_u=new_id[np.array([c[0] for c in chains])],
        edge_v=new_id[np.array([c[1] for c in chains])],
        edge_metres=np.array([c[3] for c in chains]),
        edge_has_steps=np.array([c[4] for c in chains], bool),
        geom_indptr=np.concatenate([[0], np.cumsum(sizes)]),
        geom_lat=segs.node_lat[geom_nodes], geom_lon=segs.node_lon[geom_nodes],
        streets=streets.arrays(np.array([c[5] for c in chains], np.int32)),
    )


def assemble_graph(
    name: str, source: str, *, node_lat: np.ndarray, node_lon: np.ndarray,
    node_osm_id: np.ndarray, edge_u: np.ndarray, edge_v: np.ndarray, edge_metres: np.ndarray,
    edge_has_steps: np.ndarray, geom_indptr: np.ndarray, geom_lat: np.ndarray,
    geom_lon: np.ndarray, streets: dict[str, np.ndarray],
) -> WalkGraph:
    """A graph from its nodes and edges (each edge's polyline in ``geom_*``, running from
    ``edge_u`` to ``edge_v``; ``streets`` the street table's arrays, ``edge_street`` among
    them), with everything derived from them: adjacency, components, hull, and the search
    graphs and snapping grid the router reads.

    The one home of that derivation: builds from OSM and synthetic networks both come here.
    """
    edge_u, edge_v = edge_u.astype(np.int32), edge_v.astype(np.int32)
    geom_indptr = geom_indptr.astype(np.int64)
    geom_lat, geom_lon = np.asarray(geom_lat, float), np.asarray(geom_lon, float)
    n = len(node_lat)
    geom_cum = _cumulative_metres(geom_lat, geom_lon, geom_indptr)
    indptr, indices, weights, csr_edge = _csr(n, edge_u, edge_v, edge_metres)
    hull_lon, hull_lat = _hull(geom_lon, geom_lat)
    meta = GraphMeta(
        name=name, source=source, built_at=time.time(),
        bbox=(float(geom_lon.min()), float(geom_lat.min()),
              float(geom_lon.max()), float(geom_lat.max())),
        n_nodes=n, n_edges=len(edge_u),
    )
    lat0, lon0, kx, ky = local_frame(meta.bbox)
    geom_x, geom_y = (geom_lon - lon0) * kx, (geom_lat - lat0) * ky
    vertex_edge = np.repeat(np.arange(len(edge_u), dtype=np.int32), np.diff(geom_indptr))
    grid = _snap_grid(geom_x, geom_y, geom_indptr)
    search = [_search_csr(n, indptr, indices, weights,
                          ~edge_has_steps[csr_edge] if avoid else None)
              for avoid in (False, True)]
    return WalkGraph(
        meta=meta, node_lat=node_lat, node_lon=node_lon, node_osm_id=node_osm_id,
        node_component=_components(n, indptr, indices, weights),
        indptr=indptr, indices=indices, weights=weights, csr_edge=csr_edge,
        edge_u=edge_u, edge_v=edge_v, edge_metres=edge_metres, edge_has_steps=edge_has_steps,
        geom_indptr=geom_indptr, geom_lat=geom_lat, geom_lon=geom_lon, geom_cum=geom_cum,
        hull_lon=hull_lon, hull_lat=hull_lat, vertex_edge=vertex_edge,
        geom_x=geom_x, geom_y=geom_y, grid_origin=grid["grid_origin"],
        grid_shape=grid["grid_shape"], grid_ptr=grid["grid_ptr"], grid_seg=grid["grid_seg"],
        search_indptr=search[0][0], search_indices=search[0][1], search_weights=search[0][2],
        stepfree_indptr=search[1][0], stepfree_indices=search[1][1],
        stepfree_weights=search[1][2], edge_street=streets["edge_street"],
        street_text=streets["street_text"], street_indptr=streets["street_indptr"],
        street_named=streets["street_named"], street_kind=streets["street_kind"],
    )


def local_frame(bbox: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """(lat0, lon0, metres per degree east, metres per degree north) of the equirectangular
    projection centred on a network's bbox (errors well under 1% across a city): the plane
    snapping measures in, stored with the graph and used by the router."""
    min_lon, min_lat, max_lon, max_lat = bbox
    lat0, lon0 = (min_lat + max_lat) / 2, (min_lon + max_lon) / 2
    return lat0, lon0, METRES_PER_DEGREE * math.cos(math.radians(lat0)), METRES_PER_DEGREE


def _snap_grid(x: np.ndarray, y: np.ndarray, geom_indptr: np.ndarray) -> dict[str, np.ndarray]:
    """Every street segment (a vertex and the next one of the same edge) listed under each
    grid cell it passes through, cells in row-major order: a query reads a square of cells as
    one contiguous slice per row. ``grid_seg`` holds each segment's first vertex.

    A segment is cut into pieces no longer than a cell and listed under the cells of each
    piece's bounding box (at most 2x2), so a long diagonal costs its length, not its box.
    """
    last = np.zeros(len(x), bool)
    last[geom_indptr[1:] - 1] = True
    seg = np.flatnonzero(~last)
    ox, oy = float(x.min()), float(y.min())
    width, height = float(x.max()) - ox, float(y.max()) - oy
    cell = max(GRID_CELL_M, math.sqrt(width * height / GRID_MAX_CELLS))
    nx, ny = int(width // cell) + 1, int(height // cell) + 1
    dx, dy = x[seg + 1] - x[seg], y[seg + 1] - y[seg]
    pieces = np.maximum(np.ceil(np.hypot(dx, dy) / cell), 1).astype(np.int64)
    owner = np.repeat(np.arange(len(seg)), pieces)
    k = np.arange(int(pieces.sum())) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    t0, t1 = k / pieces[owner], (k + 1) / pieces[owner]
    ax, bx = x[seg][owner] + t0 * dx[owner], x[seg][owner] + t1 * dx[owner]
    ay, by = y[seg][owner] + t0 * dy[owner], y[seg][owner] + t1 * dy[owner]
    cx0 = np.clip((np.minimum(ax, bx) - ox) // cell, 0, nx - 1).astype(np.int64)
    cx1 = np.clip((np.maximum(ax, bx) - ox) // cell, 0, nx - 1).astype(np.int64)
    cy0 = np.clip((np.minimum(ay, by) - oy) // cell, 0, ny - 1).astype(np.int64)
    cy1 = np.clip((np.maximum(ay, by) - oy) // cell, 0, ny - 1).astype(np.int64)
    w, h = cx1 - cx0 + 1, cy1 - cy0 + 1
    count = w * h
    which = np.repeat(np.arange(len(owner)), count)
    k = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
    cells = (cy0[which] + k // w[which]) * nx + cx0[which] + k % w[which]
    # One entry per (cell, segment), sorted by cell then segment.
    keys = np.unique(cells * len(seg) + owner[which])
    cells, segs = keys // len(seg), keys % len(seg)
    index_type = np.int32 if len(x) < 2**31 else np.int64
    return {
        "grid_origin": np.array([ox, oy, cell]),
        "grid_shape": np.array([nx, ny], np.int64),
        "grid_ptr": np.concatenate([[0], np.cumsum(np.bincount(cells, minlength=nx * ny))]),
        "grid_seg": seg[segs].astype(index_type),
    }


def _search_csr(
    n: int, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray,
    keep: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The CSR without the entries ``keep`` drops, plus the virtual origin's row of two."""
    if keep is None:
        keep = np.ones(len(indices), bool)
    counts = np.bincount(np.repeat(np.arange(n), np.diff(indptr))[keep], minlength=n)
    return (np.concatenate([[0], np.cumsum(counts), [keep.sum() + 2]]).astype(np.int32),
            np.concatenate([indices[keep], [0, 0]]).astype(np.int32),
            np.concatenate([weights[keep], [0.0, 0.0]]))


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
    "street_indptr", "street_named", "street_kind", "vertex_edge", "geom_x", "geom_y",
    "grid_origin", "grid_shape", "grid_ptr", "grid_seg", "search_indptr", "search_indices",
    "search_weights", "stepfree_indptr", "stepfree_indices", "stepfree_weights",
)
#: Members start on this boundary in the file, so mapped arrays are aligned for any dtype.
_ALIGN = 64
_PAD_FIELD_ID = 0xD935  # a zip "extra field" that only pads (the id Android's zipalign uses)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra length
_ZIP64_EXTRA = 20  # zipfile adds this to the local header of a member opened with force_zip64


def _arrays(graph: WalkGraph) -> dict[str, np.ndarray]:
    return {f: getattr(graph, f) for f in _ARRAY_FIELDS}


def save_graph(graph: WalkGraph, path: Path) -> None:
    """Write the cache atomically: a crash mid-write leaves any previous file intact.

    An ordinary uncompressed ``.npz`` (``np.load`` reads it), laid out so that
    :func:`load_graph` can map every array in place.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = np.frombuffer(graph.meta.to_json().encode(), np.uint8)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it 0600; other workers must read it
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
                for name, array in {"meta": meta, **_arrays(graph)}.items():
                    _write_member(archive, name, np.ascontiguousarray(array))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """One ``name.npy`` member whose array data starts on an ``_ALIGN`` boundary of the file
    (the .npy header is padded to a multiple of 64 bytes; the zip header is padded here)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    assert archive.fp is not None  # an open archive
    start = archive.fp.tell() + _LOCAL_HEADER.size + len(info.filename.encode()) + _ZIP64_EXTRA
    pad = -(start + 4) % _ALIGN  # 4: the padding field's own id and length
    info.extra = struct.pack("<HH", _PAD_FIELD_ID, pad) + bytes(pad)
    with archive.open(info, "w", force_zip64=True) as member:
        member.write(header.getvalue())
        member.write(array.reshape(-1).view(np.uint8).data if array.size else b"")


_DAMAGED = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, struct.error)


def read_hull(path: Path) -> tuple[GraphMeta, np.ndarray, np.ndarray]:
    """Metadata and coverage hull of a cache file, copied out (the file is not kept mapped)."""
    meta, arrays, _ = _map(path, fields=("hull_lon", "hull_lat"))
    return meta, np.array(arrays["hull_lon"]), np.array(arrays["hull_lat"])


def load_graph(path: Path) -> WalkGraph:
    """Map a cache written by :func:`save_graph` read-only (no pickle: arrays and JSON only).

    Nothing is read up front: pages come from the page cache as they are used, shared by every
    process that maps the same file. A file of another format version is refused with a
    message saying to rebuild it.
    """
    meta, arrays, offsets = _map(path, fields=_ARRAY_FIELDS)
    return WalkGraph(meta=meta, **arrays, mapping=CacheMapping(Path(path), offsets))


def _map(
    path: Path, fields: tuple[str, ...]
) -> tuple[GraphMeta, dict[str, np.ndarray], dict[str, int]]:
    """The meta and the named arrays of a cache file, each a read-only view of one mapping."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as fh:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            if "meta" not in members:
                raise WalkingNetworkError(f"{path.name} is not a network cache file")
            layout = {name: _member_layout(fh, members[name]) for name in ("meta", *fields)
                      if name in members}
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise
    except WalkingNetworkError:
        raise
    except _DAMAGED as exc:
        raise WalkingNetworkError(f"{path.name} is not a network cache file") from exc
    whole = np.memmap(path, dtype=np.uint8, mode="r")
    try:
        meta = GraphMeta.from_json(_view(whole, size, *layout["meta"]).tobytes().decode())
    except (*_DAMAGED, TypeError) as exc:
        raise WalkingNetworkError(f"{path.name} is not a network cache file") from exc
    if meta.format_version != FORMAT_VERSION:
        raise WalkingNetworkError(
            f"{path.name} is network cache format {meta.format_version}, this code reads "
            f"{FORMAT_VERSION}: rebuild it with 'assetmap network build'"
        )
    try:
        arrays = {f: _view(whole, size, *layout[f]) for f in fields}
    except _DAMAGED as exc:
        raise WalkingNetworkError(f"{path.name} is a damaged network cache") from exc
    return meta, arrays, {f: layout[f][0] for f in fields}


def _member_layout(fh: Any, info: zipfile.ZipInfo) -> tuple[int, np.dtype, tuple[int, ...]]:
    """(file offset of the array data, dtype, shape) of one stored ``.npy`` member."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError("compressed member: not a network cache written by this code")
    fh.seek(info.header_offset)
    signature, name_len, extra_len = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise ValueError("bad member header")
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    version = np.lib.format.read_magic(fh)
    if version != (1, 0):
        raise ValueError(f"npy format {version}")
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    if fortran or dtype.hasobject:
        raise ValueError("not a plain C-ordered array")
    return fh.tell(), dtype, shape


def _view(whole: np.memmap, size: int, offset: int, dtype: np.dtype,
          shape: tuple[int, ...]) -> np.ndarray:
    """The array at `offset` as a read-only view of the file's mapping (a plain ndarray
    whose base is the np.memmap: indexing it costs no more than an array in memory)."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if offset + nbytes > size:
        raise ValueError("member runs past the end of the file")
    if not nbytes:
        empty = np.zeros(shape, dtype)
        empty.flags.writeable = False
        return empty
    return whole[offset:offset + nbytes].view(np.ndarray).view(dtype).reshape(shape)
