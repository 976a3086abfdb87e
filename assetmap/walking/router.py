"""Walking reach, walking times to many points, isochrones and routes over a :class:`WalkGraph`.

Snapping. A point joins the network at the nearest point of the nearest edge (not the nearest
node), and the straight line to that point counts as part of the walk. The graph's snapping grid
lists every street segment under each cell its bounding box touches; a point reads the segments
of the cells within a radius r, projects onto each exactly, and the nearest one is provably the
nearest of all when it lies within r (any segment that near touches a cell read). Otherwise r
grows, up to ``max_snap_m``. All of it reads the graph's stored arrays: nothing per process.

Memory. The router keeps no copy of the graph: the search graphs and the grid come with it
(memory-mapped from the cache, shared by every worker). Per process there is one flag per edge
and step rule (is it snappable), and per thread a copy-on-write view of each search graph whose
last row is rewritten for each query's origin (scipy's dijkstra uses the CSR arrays it is given
as they are, without copying them).

Components. Only edges of a component holding at least ``min_component_m`` metres of walkable
way (or of the largest component) are snapped to, so a point beside a 2-node island (an estate
path cut off by private roads) joins the main network instead. The components are worked out per
profile: a pocket reachable only by steps is an island to the step-free profile.

Estimates. An origin farther than ``max_snap_m`` (500 m) from any snappable edge gets
``estimated=True`` answers from the straight-line distance times ``DETOUR_FACTOR`` (1.3, a
common urban ratio of walked to crow-flies distance). A destination that far from the network is
unreachable (inf) from a networked origin.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from assetmap.errors import ValidationError
from assetmap.geo import haversine_m
from assetmap.walking.graph import WalkGraph, local_frame

if TYPE_CHECKING:  # scipy is imported where it is used: importing this module stays cheap
    from scipy.sparse import csr_matrix

#: The walks a search may ask for, in minutes (the matching search and Open Referral UK's
#: walking_minutes alike).
MINUTES_RANGE = (1, 60)
DETOUR_FACTOR = 1.3
MAX_SNAP_M = 500.0
MIN_COMPONENT_M = 5_000.0
#: Points snapped at once by :meth:`Router.snap_many` (bounds its temporary arrays).
SNAP_CHUNK = 4096
ISOCHRONE_BUFFER_M = 30.0
#: Holes smaller than this (city blocks inside the walk) are filled in an isochrone.
ISOCHRONE_MIN_HOLE_M2 = 50_000.0
#: Concave-hull tightness for the fast isochrone (0 hugs the points, 1 is the convex hull).
ISOCHRONE_HULL_RATIO = 0.1
#: The fast isochrone keeps one walked point per square of this side: within 15 m of where it
#: was, under the 30 m buffer. Measured against the precise shape from 40 Camden origins, 5 to
#: 30 minutes: IoU within 0.03 of 10 m squares' (median 0.93), the hull about 30% quicker.
ISOCHRONE_CELL_M = 20.0


def preload_libraries() -> None:
    """Import the libraries routing uses now, not at a worker's first walk: a web server that
    calls this before forking its workers has them share those pages (about 30 MB each)."""
    import scipy.sparse.csgraph  # noqa: F401
    import shapely  # noqa: F401


@dataclass(frozen=True)
class Pace:
    """A walking speed, and whether the walker must avoid steps."""

    name: str
    kmh: float
    avoid_steps: bool = False

    @property
    def metres_per_minute(self) -> float:
        return self.kmh * 1000.0 / 60.0


PACES: Mapping[str, Pace] = MappingProxyType({
    "typical": Pace("typical", 4.8),
    "slow": Pace("slow", 3.0),
    "step-free": Pace("step-free", 3.0, avoid_steps=True),
})


def make_paces(overrides: Mapping[str, float | Pace] | None = None) -> dict[str, Pace]:
    """The default paces with some changed: a number sets km/h, a Pace replaces or adds one.

    ``step-free`` follows ``slow`` unless it is overridden itself, so one setting changes both.
    """
    overrides = dict(overrides or {})
    paces = dict(PACES)
    for name, value in overrides.items():
        if isinstance(value, Pace):
            paces[name] = value
            continue
        kmh = float(value)
        if not (math.isfinite(kmh) and kmh > 0):
            raise ValidationError("pace",
                                  f"{name!r} must be a positive speed in km/h, not {value!r}")
        paces[name] = Pace(name, kmh, paces[name].avoid_steps if name in paces else False)
    if "slow" in overrides and "step-free" not in overrides:
        paces["step-free"] = Pace("step-free", paces["slow"].kmh, avoid_steps=True)
    return paces


@dataclass(frozen=True)
class Snap:
    """Where a point joins the network. ``edge == -1``: no usable edge within max_snap_m."""

    lat: float
    lon: float
    edge: int
    offset_m: float
    metres: float
    snapped_lat: float
    snapped_lon: float

    @property
    def found(self) -> bool:
        return self.edge >= 0


def detour_metres(straight_metres: Any, detour_factor: float = DETOUR_FACTOR) -> Any:
    """The walk the network cannot measure: the straight line times the detour factor.

    The one home of the "no network: straight line x 1.3" rule; works on arrays too.
    """
    return detour_factor * straight_metres


def crow_flies_metres(walk_metres: Any, detour_factor: float = DETOUR_FACTOR) -> Any:
    """How far, in a straight line, an estimated walk of `walk_metres` reaches."""
    return walk_metres / detour_factor


def estimated_route(lat1: float, lon1: float, lat2: float, lon2: float, pace: Pace, *,
                    detour_factor: float = DETOUR_FACTOR) -> Route:
    """A straight line marked estimated: the walk where no network answers."""
    metres = detour_metres(haversine_m(lat1, lon1, lat2, lon2), detour_factor)
    return Route(metres, metres / pace.metres_per_minute, pace, True,
                 {"type": "LineString", "coordinates": [[lon1, lat1], [lon2, lat2]]})


@dataclass(frozen=True, eq=False)
class SnapBatch:
    """Many points snapped at once; reusable for every query with the same step rule.

    ``to_u``/``to_v`` are the metres from each point to the edge's ends (snap line included),
    inf where the point did not snap, so a query costs two gathers and a minimum.
    """

    lats: np.ndarray
    lons: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray
    metres: np.ndarray
    u: np.ndarray
    v: np.ndarray
    to_u: np.ndarray
    to_v: np.ndarray
    avoid_steps: bool

    def __len__(self) -> int:
        return len(self.edge)


@dataclass(frozen=True, eq=False)
class Reach:
    """Everything within ``limit_m`` walked metres of an origin.

    ``node_metres`` is the walk to each graph node (inf beyond the limit); None when the
    answer is ``estimated`` from straight-line distance.
    """

    lat: float
    lon: float
    minutes: float
    pace: Pace
    limit_m: float
    origin: Snap
    estimated: bool
    node_metres: np.ndarray | None

    def reached_nodes(self) -> np.ndarray:
        """Indices of the graph nodes within the limit."""
        if self.node_metres is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(np.isfinite(self.node_metres))


@dataclass(frozen=True)
class Route:
    """A walk between two points: GeoJSON LineString (lon, lat), metres and minutes.

    ``edges`` has one entry per segment of the line: the graph edge it runs along, or -1 for
    a snap line (``WalkGraph.streets_along`` names them); empty for an estimate.
    """

    metres: float
    minutes: float
    pace: Pace
    estimated: bool
    geometry: dict[str, Any]
    edges: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class _Profile:
    """Per step rule: which edges may be snapped to, and the search graph.

    The search graph (stored with the network) has one extra row, a virtual origin whose two
    out-edges are rewritten per query to reach both ends of the origin's edge with their walk
    so far; one Dijkstra from it is then exact. Each thread rewrites its own copy-on-write view.
    """

    n: int
    avoid_steps: bool
    graph: WalkGraph
    edge_ok: np.ndarray
    local: threading.local

    def matrix(self, u: int, v: int, to_u: float, to_v: float) -> csr_matrix:
        """The search matrix with the virtual origin joined to u and v."""
        matrix = getattr(self.local, "matrix", None)
        if matrix is None:
            from scipy.sparse import csr_matrix

            prefix = "stepfree" if self.avoid_steps else "search"
            indptr = self.graph.search_arrays(self.avoid_steps)[0]
            matrix = csr_matrix((self.graph.writable_copy(f"{prefix}_weights"),
                                 self.graph.writable_copy(f"{prefix}_indices"), indptr),
                                shape=(self.n + 1, self.n + 1))
            self.local.matrix = matrix
        matrix.indices[-2:] = (u, v)
        matrix.data[-2:] = (to_u, to_v)
        return matrix


class Router:
    """Walking queries over one network. Thread-safe; lazily builds its indexes once."""

    def __init__(
        self,
        graph: WalkGraph,
        paces: Mapping[str, Pace] | None = None,
        *,
        max_snap_m: float = MAX_SNAP_M,
        min_component_m: float = MIN_COMPONENT_M,
        detour_factor: float = DETOUR_FACTOR,
    ) -> None:
        self.graph = graph
        self.paces: Mapping[str, Pace] = dict(paces) if paces is not None else dict(PACES)
        self.max_snap_m = max_snap_m
        self.min_component_m = min_component_m
        self.detour_factor = detour_factor
        min_lon, min_lat, max_lon, max_lat = graph.meta.bbox
        self._lat0, self._lon0, self._kx, self._ky = local_frame(graph.meta.bbox)
        pad_lat = max_snap_m / self._ky
        pad_lon = max_snap_m / self._kx
        self._bbox = (min_lon - pad_lon, min_lat - pad_lat, max_lon + pad_lon, max_lat + pad_lat)
        # Planar distances may differ from haversine by a fraction of a percent: search a little
        # beyond max_snap_m and let the haversine check decide.
        self._max_radius = max_snap_m * 1.01 + 1.0
        self._self_loops = np.flatnonzero(np.asarray(graph.edge_u) == np.asarray(graph.edge_v))
        self._profiles: dict[bool, _Profile] = {}
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Build the search and snapping indexes now (at app start) rather than on first use."""
        for avoid_steps in {pace.avoid_steps for pace in self.paces.values()}:
            self._profile(avoid_steps)

    # --- paces and profiles ----------------------------------------------------------------

    def pace(self, pace: str | Pace) -> Pace:
        """Resolve a pace name (or pass a Pace through)."""
        if isinstance(pace, Pace):
            return pace
        try:
            return self.paces[pace]
        except KeyError:
            raise ValidationError("pace", f"unknown pace {pace!r}; use one of {sorted(self.paces)}",
                                  allowed=sorted(self.paces)) from None

    def _profile(self, avoid_steps: bool) -> _Profile:
        profile = self._profiles.get(avoid_steps)
        if profile is None:
            with self._lock:
                profile = self._profiles.get(avoid_steps)
                if profile is None:
                    profile = self._profiles[avoid_steps] = self._build_profile(avoid_steps)
        return profile

    def _build_profile(self, avoid_steps: bool) -> _Profile:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import connected_components

        g = self.graph
        n = g.n_nodes
        usable = ~g.edge_has_steps if avoid_steps else np.ones(g.n_edges, bool)
        indptr, indices, weights = g.search_arrays(avoid_steps)
        matrix = csr_matrix((weights[:-2], indices[:-2], indptr[:-1]), shape=(n, n))
        # Components of this profile's graph, sized by their metres of way.
        labels = connected_components(matrix, directed=False)[1]
        edge_label = labels[g.edge_u]
        size = np.bincount(edge_label, weights=np.where(usable, g.edge_metres, 0.0))
        big = (size >= self.min_component_m) | (size == size.max())
        edge_ok = usable & big[edge_label] & (np.asarray(g.edge_metres) > 0)
        return _Profile(n, avoid_steps, g, edge_ok, threading.local())

    def _xy(self, lat: Any, lon: Any) -> tuple[np.ndarray, np.ndarray]:
        """Local equirectangular metres (errors ≪ 1% across a city) for snapping geometry."""
        return ((np.asarray(lon, float) - self._lon0) * self._kx,
                (np.asarray(lat, float) - self._lat0) * self._ky)

    def _grid_window(self, px: Any, py: Any, radius: float) -> tuple[Any, Any, Any, Any]:
        """(first column, last column, first row, last row) of the cells within `radius` of
        each point, clipped to the grid (a point off the grid reads its nearest cells)."""
        g = self.graph
        ox, oy, cell = (float(v) for v in g.grid_origin)
        nx, ny = (int(v) for v in g.grid_shape)
        return (np.clip((px - radius - ox) // cell, 0, nx - 1).astype(np.int64),
                np.clip((px + radius - ox) // cell, 0, nx - 1).astype(np.int64),
                np.clip((py - radius - oy) // cell, 0, ny - 1).astype(np.int64),
                np.clip((py + radius - oy) // cell, 0, ny - 1).astype(np.int64))

    def _radii(self) -> list[float]:
        """The search radii tried in turn: one cell, three, then all of max_snap_m."""
        cell = float(self.graph.grid_origin[2])
        return [r for r in (cell, 3 * cell) if r < self._max_radius] + [self._max_radius]

    # --- snapping --------------------------------------------------------------------------

    def snap(self, lat: float, lon: float, *, avoid_steps: bool = False) -> Snap:
        """Nearest point on the nearest snappable edge (edge -1 if none within max_snap_m).

        A scalar fast path of :meth:`snap_many` (this runs on every request).
        """
        lat, lon = float(lat), float(lon)
        profile = self._profile(avoid_steps)
        min_lon, min_lat, max_lon, max_lat = self._bbox
        found = None
        if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
            found = self._nearest_one(profile, (lon - self._lon0) * self._kx,
                                      (lat - self._lat0) * self._ky)
        if found is None:
            return Snap(lat, lon, -1, math.nan, math.inf, math.nan, math.nan)
        g = self.graph
        j, t = found
        edge = int(g.vertex_edge[j])
        c0, c1 = float(g.geom_cum[j]), float(g.geom_cum[j + 1])
        offset = min(max(c0 + t * (c1 - c0), 0.0), float(g.edge_metres[edge]))
        la0, la1 = float(g.geom_lat[j]), float(g.geom_lat[j + 1])
        lo0, lo1 = float(g.geom_lon[j]), float(g.geom_lon[j + 1])
        slat, slon = la0 + t * (la1 - la0), lo0 + t * (lo1 - lo0)
        metres = haversine_m(lat, lon, slat, slon)
        if metres > self.max_snap_m:
            return Snap(lat, lon, -1, math.nan, math.inf, math.nan, math.nan)
        return Snap(lat, lon, edge, offset, metres, slat, slon)

    def _nearest_one(self, profile: _Profile, px: float, py: float) -> tuple[int, float] | None:
        """(segment's first vertex, t) of the nearest snappable segment, or None if there is
        none within the largest search radius. As :meth:`_nearest` for one point (this runs
        on every request), with the same tie-break: the first segment in grid order."""
        g = self.graph
        nx = int(g.grid_shape[0])
        for radius in self._radii():
            x0, x1, y0, y1 = (int(v) for v in self._grid_window(px, py, radius))
            rows = np.arange(y0, y1 + 1) * nx
            lo, hi = g.grid_ptr[rows + x0], g.grid_ptr[rows + x1 + 1]
            cand = np.concatenate([g.grid_seg[a:b] for a, b in zip(lo.tolist(), hi.tolist(),
                                                                    strict=True)])
            cand = cand[profile.edge_ok[g.vertex_edge[cand]]]
            if len(cand):
                d, t = _segment_distance(g.geom_x, g.geom_y, cand, px, py)
                best = int(np.argmin(d))
                if d[best] <= radius:
                    return int(cand[best]), float(t[best])
        return None

    def snap_many(self, lats: Any, lons: Any, *, avoid_steps: bool = False) -> SnapBatch:
        """Snap many points at once (vectorised); keep the result to reuse across queries."""
        lats = np.asarray(lats, float).ravel()
        lons = np.asarray(lons, float).ravel()
        if lats.shape != lons.shape:
            raise ValueError("lats and lons must have the same length")
        profile = self._profile(avoid_steps)
        g = self.graph
        n = len(lats)
        hit = np.zeros(n, bool)
        vertex = np.zeros(n, np.int64)  # first geometry vertex of the nearest segment
        t = np.zeros(n)
        min_lon, min_lat, max_lon, max_lat = self._bbox
        todo = np.flatnonzero((lats >= min_lat) & (lats <= max_lat) & (lons >= min_lon)
                              & (lons <= max_lon))
        px, py = self._xy(lats, lons)
        for radius in self._radii():
            if not len(todo):
                break
            left = []
            for chunk in np.array_split(todo, max(1, -(-len(todo) // SNAP_CHUNK))):
                found, vertex_i, t_i = self._nearest(profile, px[chunk], py[chunk], radius)
                hit[chunk[found]] = True
                vertex[chunk[found]] = vertex_i[found]
                t[chunk[found]] = t_i[found]
                left.append(chunk[~found])
            todo = np.concatenate(left)
        start, t = vertex[hit], t[hit]
        snapped_lat = g.geom_lat[start] + t * (g.geom_lat[start + 1] - g.geom_lat[start])
        snapped_lon = g.geom_lon[start] + t * (g.geom_lon[start + 1] - g.geom_lon[start])
        metres = np.full(n, np.inf)
        metres[hit] = haversine_m(lats[hit], lons[hit], snapped_lat, snapped_lon)
        offset = np.zeros(n)
        offset[hit] = g.geom_cum[start] + t * (g.geom_cum[start + 1] - g.geom_cum[start])
        ok = hit & (metres <= self.max_snap_m)
        edge = np.where(ok, g.vertex_edge[vertex], -1)
        e = np.maximum(edge, 0)
        length = g.edge_metres[e]
        offset = np.clip(offset, 0.0, length)  # rounding must not step past an edge's end
        return SnapBatch(
            lats=lats, lons=lons, edge=edge, fraction=np.where(ok, offset / length, np.nan),
            offset_m=np.where(ok, offset, np.nan), metres=np.where(ok, metres, np.inf),
            u=g.edge_u[e], v=g.edge_v[e], to_u=np.where(ok, offset + metres, np.inf),
            to_v=np.where(ok, length - offset + metres, np.inf), avoid_steps=avoid_steps,
        )

    def _nearest(
        self, profile: _Profile, px: np.ndarray, py: np.ndarray, radius: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest snappable segment (first vertex, t) of each point among those touching
        the cells within `radius`: ``found`` where it lies within `radius` (then it is the
        nearest of all), as (found, vertex, t)."""
        g = self.graph
        nx = int(g.grid_shape[0])
        x0, x1, y0, y1 = self._grid_window(px, py, radius)
        # Each point reads one contiguous slice of grid_seg per row of cells.
        n_rows = y1 - y0 + 1
        point = np.repeat(np.arange(len(px)), n_rows)
        row = y0[point] + _ragged_arange(n_rows)
        lo = g.grid_ptr[row * nx + x0[point]]
        hi = g.grid_ptr[row * nx + x1[point] + 1]
        point = np.repeat(point, hi - lo)
        cand = np.asarray(g.grid_seg[np.repeat(lo, hi - lo) + _ragged_arange(hi - lo)])
        ok = profile.edge_ok[g.vertex_edge[cand]]
        point, cand = point[ok], cand[ok]
        d, t = _segment_distance(g.geom_x, g.geom_y, cand, px[point], py[point])
        # First of each point's nearest (ties: the first in grid order, as _nearest_one).
        order = np.lexsort((d, point))
        first = order[np.flatnonzero(np.diff(point[order], prepend=-1))]
        found = np.zeros(len(px), bool)
        vertex = np.zeros(len(px), np.int64)
        t_out = np.zeros(len(px))
        owner = point[first]
        near = d[first] <= radius
        found[owner[near]] = True
        vertex[owner[near]] = cand[first[near]]
        t_out[owner[near]] = t[first[near]]
        return found, vertex, t_out

    def _point_on_edge(self, edge: int, offset: float) -> tuple[float, float]:
        lat, lon, cum = self._edge_arrays(edge)
        return float(np.interp(offset, cum, lat)), float(np.interp(offset, cum, lon))

    def _edge_arrays(self, edge: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        g = self.graph
        lo, hi = g.geom_indptr[edge], g.geom_indptr[edge + 1]
        return g.geom_lat[lo:hi], g.geom_lon[lo:hi], g.geom_cum[lo:hi]

    # --- reach and times to many points ----------------------------------------------------

    def reach(self, lat: float, lon: float, minutes: float, pace: str | Pace = "typical") -> Reach:
        """Walked metres from the origin to every node within ``minutes`` at ``pace``."""
        if not (math.isfinite(minutes) and minutes >= 0):
            raise ValidationError("minutes", f"must be a non-negative number, not {minutes!r}")
        _check_point(lat, lon)
        pace = self.pace(pace)
        limit = minutes * pace.metres_per_minute
        origin = self.snap(lat, lon, avoid_steps=pace.avoid_steps)
        if not origin.found:
            return Reach(lat, lon, minutes, pace, limit, origin, True, None)
        dist = self._search(origin, pace.avoid_steps, limit)[0]
        return Reach(lat, lon, minutes, pace, limit, origin, False, dist)

    def _search(
        self, origin: Snap, avoid_steps: bool, limit: float, predecessors: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Bounded Dijkstra from the origin (via both ends of its edge): metres per node, inf
        beyond ``limit``, and the predecessor of each node if asked (the virtual origin is
        node ``n``).
        """
        from scipy.sparse.csgraph import dijkstra

        g = self.graph
        e = origin.edge
        profile = self._profile(avoid_steps)
        matrix = profile.matrix(int(g.edge_u[e]), int(g.edge_v[e]),
                                origin.metres + origin.offset_m,
                                origin.metres + float(g.edge_metres[e]) - origin.offset_m)
        out = dijkstra(matrix, directed=True, indices=profile.n, limit=limit,
                       return_predecessors=predecessors)
        if predecessors:
            return out[0][: profile.n], out[1]
        return out[: profile.n], None

    def walk_to_points(self, reach: Reach, lats: Any, lons: Any) -> tuple[np.ndarray, np.ndarray]:
        """(metres, minutes) from the reach origin to each point; inf beyond the limit."""
        return self.walk_to_snaps(reach, self.snap_many(lats, lons,
                                                        avoid_steps=reach.pace.avoid_steps))

    def walk_to_snaps(self, reach: Reach, snaps: SnapBatch) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`walk_to_points` for points snapped earlier with :meth:`snap_many`."""
        if reach.estimated:
            metres = detour_metres(haversine_m(reach.lat, reach.lon, snaps.lats, snaps.lons),
                                   self.detour_factor)
        else:
            if snaps.avoid_steps != reach.pace.avoid_steps:
                raise ValueError("points were snapped for a different step rule than the reach")
            nm = reach.node_metres
            assert nm is not None  # a reach on the network always has its node distances
            metres = np.minimum(nm[snaps.u] + snaps.to_u, nm[snaps.v] + snaps.to_v)
            same = np.flatnonzero(snaps.edge == reach.origin.edge)
            if len(same):  # walk straight along the shared edge
                along = (np.abs(snaps.offset_m[same] - reach.origin.offset_m)
                         + snaps.metres[same] + reach.origin.metres)
                metres[same] = np.minimum(metres[same], along)
        metres[metres > reach.limit_m] = np.inf
        return metres, metres / reach.pace.metres_per_minute

    def walks_to_nearest(self, sources: SnapBatch, targets: SnapBatch,
                         limit_m: float) -> np.ndarray:
        """Metres from each target to the nearest source (inf beyond ``limit_m``), walked on
        the network: one bounded Dijkstra from every source at once, through a virtual node
        joined to both ends of each source's edge (as :meth:`reach` does for one origin)."""
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        if sources.avoid_steps != targets.avoid_steps:
            raise ValueError("sources and targets were snapped for different step rules")
        profile = self._profile(sources.avoid_steps)
        indptr, indices, weights = self.graph.search_arrays(sources.avoid_steps)
        n, end = profile.n, int(indptr[profile.n])
        ok = np.flatnonzero(np.isfinite(sources.to_u) & np.isfinite(sources.to_v))
        cols = np.concatenate([sources.u[ok], sources.v[ok]]).astype(np.int32)
        dist = np.concatenate([sources.to_u[ok], sources.to_v[ok]])
        order = np.lexsort((dist, cols))  # one entry per node: the shortest join
        cols, dist = cols[order], dist[order]
        first = np.ones(len(cols), bool)
        first[1:] = cols[1:] != cols[:-1]
        cols, dist = cols[first], dist[first]
        matrix = csr_matrix(
            (np.concatenate([weights[:end], dist]),
             np.concatenate([indices[:end], cols]),
             np.concatenate([indptr[:n + 1], [end + len(cols)]]).astype(np.int32)),
            shape=(n + 1, n + 1))
        node = dijkstra(matrix, directed=True, indices=n, limit=limit_m)[:n]
        metres = np.minimum(node[targets.u] + targets.to_u, node[targets.v] + targets.to_v)
        by_edge: dict[int, list[int]] = {}
        for source in ok.tolist():
            by_edge.setdefault(int(sources.edge[source]), []).append(source)
        for target in np.flatnonzero(np.isin(targets.edge, list(by_edge))).tolist():
            for source in by_edge[int(targets.edge[target])]:  # one edge: walk along it
                along = (abs(targets.offset_m[target] - sources.offset_m[source])
                         + targets.metres[target] + sources.metres[source])
                metres[target] = min(metres[target], along)
        metres[~np.isfinite(targets.to_u)] = np.inf
        metres[metres > limit_m] = np.inf
        return metres

    # --- isochrone -------------------------------------------------------------------------

    def isochrone(
        self, reach: Reach, minutes: float | None = None, *, buffer_m: float = ISOCHRONE_BUFFER_M,
        precise: bool = False,
    ) -> dict[str, Any]:
        """GeoJSON (Multi)Polygon of the area within ``minutes`` (default: the reach's).

        Works on the walked streets (whole or partly walked edges) in a local metric
        projection centred on the origin. By default their points are wrapped in a concave
        hull and buffered by ``buffer_m``: a 15-minute area in ~10 ms, overlapping the precise
        shape by ~90-97% (IoU). ``precise=True`` buffers every walked street instead (~100+ ms),
        for printed maps and coverage work. Small enclosed holes are filled either way.
        """
        import shapely

        minutes = reach.minutes if minutes is None else minutes
        if not 0 <= minutes <= reach.minutes:
            raise ValueError(f"minutes must be between 0 and the reach's {reach.minutes}")
        limit = minutes * reach.pace.metres_per_minute
        kx = self._ky * math.cos(math.radians(reach.lat))
        walked = None if reach.estimated else self._walked_pieces(reach, limit)
        if walked is not None and len(walked[0]):
            lat, lon, piece = walked
            x, y = (lon - reach.lon) * kx, (lat - reach.lat) * self._ky
            if precise:
                lines = shapely.linestrings(x, y, indices=piece)
                shape = shapely.union_all(shapely.buffer(lines, buffer_m, quad_segs=4))
            else:
                cells = _unique_cells(np.round(x / ISOCHRONE_CELL_M),
                                      np.round(y / ISOCHRONE_CELL_M)) * ISOCHRONE_CELL_M
                hull = shapely.concave_hull(shapely.multipoints(cells),
                                            ratio=ISOCHRONE_HULL_RATIO)
                shape = hull.buffer(buffer_m, quad_segs=2)
        else:  # estimated: a circle of the straight-line reach; else nothing is in reach
            radius = crow_flies_metres(limit, self.detour_factor) if reach.estimated else 0.0
            shape = shapely.Point(0, 0).buffer(max(radius, buffer_m))
        shape = _fill_small_holes(shape.simplify(buffer_m / 10), ISOCHRONE_MIN_HOLE_M2)
        back = shapely.transform(shape, lambda xy: np.column_stack(
            [reach.lon + xy[:, 0] / kx, reach.lat + xy[:, 1] / self._ky]))
        if not back.is_valid:
            back = shapely.make_valid(back)
        polys = shapely.get_parts(back)
        polys = [p for p in polys if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.geometry.mapping(shapely.union_all(polys))

    def _walked_pieces(
        self, reach: Reach, limit: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lats, lons, piece) of every stretch walked within ``limit`` metres, snap line
        included: each stretch's points in order, ``piece`` numbering the stretches 0, 1, …

        Whole edges (most of them) are gathered in one index of the geometry arrays."""
        g = self.graph
        nm = reach.node_metres
        assert nm is not None  # only network reaches are drawn this way
        ok = self._profile(reach.pace.avoid_steps).edge_ok
        # Only edges with an end within the limit can be walked: those of the reached nodes
        # (from the CSR, in edge order), not a pass over every edge of a city's network.
        reached = np.flatnonzero(nm <= limit)
        starts, counts = g.indptr[reached], np.diff(g.indptr)[reached]
        near = g.csr_edge[np.repeat(starts, counts) + _ragged_arange(counts)]
        cand = np.union1d(near, self._self_loops)  # self-loops are not in the CSR
        nu, nv = nm[g.edge_u[cand]], nm[g.edge_v[cand]]
        from_u = np.where(nu <= limit, limit - nu, -1.0)
        from_v = np.where(nv <= limit, limit - nv, -1.0)
        metres = g.edge_metres[cand]
        touched = ok[cand] & ((from_u >= 0) | (from_v >= 0))
        full = touched & (np.maximum(from_u, 0) + np.maximum(from_v, 0) >= metres)
        whole = cand[full]
        first, sizes = g.geom_indptr[whole], np.diff(g.geom_indptr)[whole]
        at = np.repeat(first, sizes) + _ragged_arange(sizes)
        lats, lons = [g.geom_lat[at]], [g.geom_lon[at]]
        pieces = [np.repeat(np.arange(len(whole)), sizes)]

        # Edges walked from one end or both but not all along: a stretch from each end
        # walked (from u, then to v), all at once (a 15-minute walk ends on ~80 of them).
        part = np.flatnonzero(touched & ~full)
        ends = np.stack([from_u[part] >= 0, from_v[part] >= 0], axis=1)
        edge = np.repeat(cand[part], 2).reshape(-1, 2)[ends]
        start = np.stack([np.zeros(len(part)), metres[part] - from_v[part]], axis=1)[ends]
        end = np.stack([from_u[part], metres[part]], axis=1)[ends]
        lat, lon, piece = self._stretches(edge, start, end)
        lats.append(lat)
        lons.append(lon)
        pieces.append(piece + len(whole))
        count = len(whole) + len(edge)

        def add(lat: np.ndarray, lon: np.ndarray) -> None:
            nonlocal count
            lats.append(lat)
            lons.append(lon)
            pieces.append(np.full(len(lat), count))
            count += 1

        origin = reach.origin
        left = limit - origin.metres
        if left >= 0:
            e = int(origin.edge)
            add(np.array([reach.lat, origin.snapped_lat]),
                np.array([reach.lon, origin.snapped_lon]))
            add(*self._piece(e, max(origin.offset_m - left, 0.0),
                             min(origin.offset_m + left, g.edge_metres[e])))
        return np.concatenate(lats), np.concatenate(lons), np.concatenate(pieces)

    def _stretches(self, edge: np.ndarray, start: np.ndarray, end: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lats, lons, piece) of many stretches along edges, from ``start`` to ``end``
        metres (start <= end): each as `_piece` gives it, the point where it starts, the
        edge's points inside it, the point where it ends; ``piece`` numbers them 0, 1, …"""
        g = self.graph
        first = g.geom_indptr[edge]
        sizes = g.geom_indptr[edge + 1] - first  # at least 2 points an edge
        at = np.repeat(first, sizes) + _ragged_arange(sizes)
        owner = np.repeat(np.arange(len(edge)), sizes)
        cum = g.geom_cum[at]
        inner = (cum > start[owner]) & (cum < end[owner])
        kept = np.add.reduceat(inner, np.cumsum(sizes) - sizes) if len(edge) else sizes
        out = np.cumsum(kept + 2) - (kept + 2)  # where each stretch's points begin
        total = int(kept.sum()) + 2 * len(edge)
        lats, lons = np.empty(total), np.empty(total)
        for bound, offset in ((start, out), (end, out + kept + 1)):
            lats[offset], lons[offset] = self._points_at(first, sizes, at, owner, cum, bound)
        inside = out[owner[inner]] + 1 + _ragged_arange(kept)
        lats[inside], lons[inside] = g.geom_lat[at[inner]], g.geom_lon[at[inner]]
        return lats, lons, np.repeat(np.arange(len(edge)), kept + 2)

    def _points_at(self, first: np.ndarray, sizes: np.ndarray, at: np.ndarray,
                   owner: np.ndarray, cum: np.ndarray, metres: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) ``metres`` along each edge, interpolated as `np.interp` does (the
        first point before it, the last point beyond it)."""
        g = self.graph
        if not len(first):
            return np.empty(0), np.empty(0)
        below = np.add.reduceat(cum <= metres[owner], np.cumsum(sizes) - sizes)
        j = first + np.clip(below - 1, 0, sizes - 2)  # the segment it falls in
        x0, x1 = g.geom_cum[j], g.geom_cum[j + 1]
        lat, lon = (g.geom_lat[j], g.geom_lat[j + 1]), (g.geom_lon[j], g.geom_lon[j + 1])
        with np.errstate(divide="ignore", invalid="ignore"):
            out_lat = (lat[1] - lat[0]) / (x1 - x0) * (metres - x0) + lat[0]
            out_lon = (lon[1] - lon[0]) / (x1 - x0) * (metres - x0) + lon[0]
        before, beyond = below == 0, below >= sizes
        last = first + sizes - 1
        out_lat = np.where(before, g.geom_lat[first], np.where(beyond, g.geom_lat[last],
                                                                 out_lat))
        out_lon = np.where(before, g.geom_lon[first], np.where(beyond, g.geom_lon[last],
                                                                 out_lon))
        return out_lat, out_lon

    def _piece(self, edge: int, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """(lats, lons) along an edge from ``start`` to ``end`` metres (reversed if end<start)."""
        lat, lon, cum = self._edge_arrays(edge)
        lo, hi = min(start, end), max(start, end)
        inner = (cum > lo) & (cum < hi)
        lats = np.concatenate([[np.interp(lo, cum, lat)], lat[inner], [np.interp(hi, cum, lat)]])
        lons = np.concatenate([[np.interp(lo, cum, lon)], lon[inner], [np.interp(hi, cum, lon)]])
        if end < start:
            return lats[::-1], lons[::-1]
        return lats, lons

    # --- route -----------------------------------------------------------------------------

    def route(
        self, lat1: float, lon1: float, lat2: float, lon2: float, pace: str | Pace = "typical"
    ) -> Route:
        """The shortest walk between two points, as a drawable GeoJSON LineString.

        Its coordinates include the snap lines, so the line's length is the reported metres.
        Falls back to an estimate (straight line, metres × detour factor) when either end is
        off the network or the network does not join them.
        """
        _check_point(lat1, lon1)
        _check_point(lat2, lon2)
        pace = self.pace(pace)
        a = self.snap(lat1, lon1, avoid_steps=pace.avoid_steps)
        b = self.snap(lat2, lon2, avoid_steps=pace.avoid_steps)
        if a.found and b.found:
            found = self._network_route(a, b, pace)
            if found is not None:
                metres, coords, edges = found
                return Route(metres, metres / pace.metres_per_minute, pace, False,
                             {"type": "LineString", "coordinates": coords}, edges)
        return estimated_route(lat1, lon1, lat2, lon2, pace, detour_factor=self.detour_factor)

    def _network_route(
        self, a: Snap, b: Snap, pace: Pace
    ) -> tuple[float, list[list[float]], tuple[int, ...]] | None:
        g = self.graph
        dist, pred = self._search(a, pace.avoid_steps, np.inf, predecessors=True)
        assert pred is not None  # asked for
        e, length = b.edge, float(g.edge_metres[b.edge])
        options = [
            (dist[g.edge_u[e]] + b.offset_m, int(g.edge_u[e]), 0.0),
            (dist[g.edge_v[e]] + length - b.offset_m, int(g.edge_v[e]), length),
        ]
        if a.edge == e:
            options.append((a.metres + abs(a.offset_m - b.offset_m), -1, a.offset_m))
        walked, end_node, enter_at = min(options, key=lambda o: o[0])
        if not math.isfinite(walked):
            return None
        points: list[tuple[np.ndarray, np.ndarray]] = [
            (np.array([a.lat, a.snapped_lat]), np.array([a.lon, a.snapped_lon]))]
        on_edge = [-1]  # the edge each piece runs along (-1: a snap line)
        if end_node >= 0:
            nodes = [end_node]
            while pred[nodes[-1]] != len(dist):  # back to the virtual origin
                nodes.append(int(pred[nodes[-1]]))
            nodes.reverse()
            left_by_u = nodes[0] == g.edge_u[a.edge] and (
                nodes[0] != g.edge_v[a.edge] or a.offset_m <= g.edge_metres[a.edge] / 2)
            points.append(self._piece(a.edge, a.offset_m, 0.0 if left_by_u else
                                      float(g.edge_metres[a.edge])))
            on_edge.append(a.edge)
            for x, y in zip(nodes[:-1], nodes[1:], strict=True):
                between = self._edge_between(x, y, pace.avoid_steps)
                points.append(between[:2])
                on_edge.append(between[2])
        points.append(self._piece(e, enter_at, b.offset_m))
        points.append((np.array([b.snapped_lat, b.lat]), np.array([b.snapped_lon, b.lon])))
        on_edge.extend([e, -1])
        lat = np.concatenate([p[0] for p in points])
        lon = np.concatenate([p[1] for p in points])
        # A segment belongs to the piece holding its far end (pieces meet end to start).
        point_edge = np.repeat(on_edge, [len(p[0]) for p in points])
        keep = np.ones(len(lat), bool)
        keep[1:] = (np.diff(lat) != 0) | (np.diff(lon) != 0)
        coords = np.column_stack([lon[keep], lat[keep]])
        edges = tuple(int(x) for x in point_edge[keep][1:]) or (-1,)
        return float(walked + b.metres), _two_points(coords).tolist(), edges

    def _edge_between(self, x: int, y: int, avoid_steps: bool
                      ) -> tuple[np.ndarray, np.ndarray, int]:
        """Geometry from node x to y along the shortest usable edge joining them, and that
        edge."""
        g = self.graph
        lo, hi = g.indptr[x], g.indptr[x + 1]
        cand = lo + np.flatnonzero(g.indices[lo:hi] == y)
        if avoid_steps:
            cand = cand[~g.edge_has_steps[g.csr_edge[cand]]]
        e = int(g.csr_edge[cand[np.argmin(g.weights[cand])]])
        lat, lon = g.edge_geometry(e)
        if g.edge_u[e] == x:
            return lat, lon, e
        return lat[::-1], lon[::-1], e


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    counts = np.asarray(counts, np.int64)
    return np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)


def _segment_distance(
    gx: np.ndarray, gy: np.ndarray, start: np.ndarray, px: Any, py: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Planar distance from each point to the segment starting at vertex `start`, and where
    along it (t in 0..1) the nearest point lies."""
    ax, ay = gx[start], gy[start]
    dx, dy = gx[start + 1] - ax, gy[start + 1] - ay
    len2 = dx * dx + dy * dy
    qx, qy = px - ax, py - ay
    t = np.clip(np.divide(qx * dx + qy * dy, len2, out=np.zeros_like(len2), where=len2 > 0),
                0.0, 1.0)
    return np.hypot(qx - t * dx, qy - t * dy), t


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
            and -180 <= lon <= 180):
        raise ValidationError("lat,lon", f"not a WGS84 point: lat={lat!r}, lon={lon!r}")


def _two_points(coords: np.ndarray) -> np.ndarray:
    """A LineString needs two points; a zero-length walk repeats its single point."""
    return coords if len(coords) >= 2 else np.vstack([coords, coords])


def _fill_small_holes(shape: Any, min_area: float) -> Any:
    import shapely

    polys = []
    for poly in shapely.get_parts(shape):
        holes = [r for r in poly.interiors if shapely.Polygon(r).area >= min_area]
        polys.append(shapely.Polygon(poly.exterior, holes))
    return shapely.union_all(polys)


def edges_in_box(graph: WalkGraph, box: tuple[float, float, float, float]) -> np.ndarray:
    """Ids of every edge with a vertex inside `box` (min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = box
    inside = ((graph.geom_lat >= min_lat) & (graph.geom_lat <= max_lat)
              & (graph.geom_lon >= min_lon) & (graph.geom_lon <= max_lon))
    return np.unique(graph.vertex_edge[inside])


def streets_in_box(graph: WalkGraph, box: tuple[float, float, float, float], *,
                   max_edges: int | None = None) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """(lats, lons) of every walkable street with a vertex inside `box` (min_lon, min_lat,
    max_lon, max_lat): what maps draw under their markers, having no tiles from elsewhere.

    None when the box holds more than `max_edges` streets (a map should zoom in first).
    """
    edges = edges_in_box(graph, box)
    if max_edges is not None and len(edges) > max_edges:
        return None
    return [graph.edge_geometry(int(e)) for e in edges]


def _unique_cells(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """The distinct (ix, iy) whole-number pairs, sorted by ix then iy, as float rows: the
    answer of ``np.unique(..., axis=0)`` through one integer key per pair, several times
    faster (``axis=0`` sorts rows as records)."""
    if not len(ix):
        return np.empty((0, 2))
    cx, cy = ix.astype(np.int64), iy.astype(np.int64)
    x0, y0 = cx.min(), cy.min()
    height = int(cy.max() - y0) + 1
    keys = np.unique((cx - x0) * height + (cy - y0))
    return np.column_stack([keys // height + x0, keys % height + y0]).astype(np.float64)
