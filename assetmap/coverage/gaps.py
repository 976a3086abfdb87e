"""Coverage gaps: how much of each ward's walkable street network is within an N-minute walk
of at least one active, fresh listing, overall and per category.

Method. The network's streets are cut into short pieces (at most `SPACING_M` long); each piece
belongs to the ward its midpoint lies in, and counts as covered when its midpoint is within
the walk of a listing. Walking distances come from one multi-source Dijkstra per category over
the walking graph: every listing's venue joins the network where the router snaps it (the snap
line counts as walked), a virtual source feeds both ends of each venue's street, and pieces of
that same street are also measured straight along it. So a ward's share is exact up to half a
piece at each edge of a walk, and one pass covers every ward at once.

"Fresh" means a listing in the fresh or due-soon state (checked within its interval); listings
online or by phone have no place on the map and cover nothing.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.freshness.due import state_column
from assetmap.models import Activity, Area, CoverageResult, Venue
from assetmap.spatial import lat_of, lon_of

if TYPE_CHECKING:
    from assetmap.walking import NetworkRegistry, Router

SPACING_M = 5.0
DEFAULT_MINUTES = 15
PACE = "typical"
FRESH_STATES: tuple[str, ...] = ("fresh", "due-soon")


@dataclass(frozen=True)
class Ward:
    id: int
    name: str
    code: str
    geometry: Any  # shapely (Multi)Polygon in lon/lat


@dataclass(frozen=True)
class WardCoverage:
    area_id: int
    category: str | None  # None: any category
    street_m: float
    covered_m: float

    @property
    def share(self) -> float:
        return self.covered_m / self.street_m if self.street_m > 0 else 0.0


@dataclass(frozen=True)
class Samples:
    """Short pieces of every street inside some ward: which edge, where along it, how long."""

    edge: np.ndarray
    offset: np.ndarray
    weight: np.ndarray
    ward: np.ndarray  # index into the wards list


def street_samples(router: Router, wards: Sequence[Ward], *,
                   spacing: float = SPACING_M) -> Samples:
    """Pieces at most `spacing` metres long, sorted by edge then offset, kept if in a ward."""
    import shapely

    g = router.graph
    per_edge = np.diff(g.geom_indptr)
    vertex_edge = np.repeat(np.arange(g.n_edges), per_edge)
    last = np.zeros(len(g.geom_lat), bool)
    last[g.geom_indptr[1:] - 1] = True
    start = np.flatnonzero(~last)
    length = g.geom_cum[start + 1] - g.geom_cum[start]
    keep = length > 0
    start, length = start[keep], length[keep]
    pieces = np.maximum(np.ceil(length / spacing), 1).astype(np.int64)
    seg = np.repeat(np.arange(len(start)), pieces)
    first = np.concatenate([[0], np.cumsum(pieces)[:-1]])
    t = (np.arange(len(seg)) - first[seg] + 0.5) / pieces[seg]
    s = start[seg]
    lat = g.geom_lat[s] + t * (g.geom_lat[s + 1] - g.geom_lat[s])
    lon = g.geom_lon[s] + t * (g.geom_lon[s + 1] - g.geom_lon[s])
    ward = np.full(len(seg), -1, np.int64)
    for index, w in enumerate(wards):
        min_x, min_y, max_x, max_y = w.geometry.bounds
        box = np.flatnonzero((ward < 0) & (lon >= min_x) & (lon <= max_x) & (lat >= min_y)
                             & (lat <= max_y))
        shapely.prepare(w.geometry)
        inside = box[shapely.contains_xy(w.geometry, lon[box], lat[box])]
        ward[inside] = index
    found = ward >= 0
    return Samples(edge=vertex_edge[s][found], offset=(g.geom_cum[s] + t * length[seg])[found],
                   weight=(length[seg] / pieces[seg])[found], ward=ward[found])


def walked_metres(router: Router, samples: Samples, lats: np.ndarray, lons: np.ndarray, *,
                  limit_m: float, snaps: Any = None) -> np.ndarray:
    """Walking metres from the nearest of the points to each sample (inf beyond `limit_m`)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    g = router.graph
    n = g.n_nodes
    out = np.full(len(samples.edge), np.inf)
    snaps = snaps if snaps is not None else router.snap_many(lats, lons)
    ok = snaps.edge >= 0
    if not ok.any():
        return out
    edge, offset, metres = snaps.edge[ok], snaps.offset_m[ok], snaps.metres[ok]
    best = np.full(n, np.inf)
    np.minimum.at(best, snaps.u[ok], snaps.to_u[ok])
    np.minimum.at(best, snaps.v[ok], snaps.to_v[ok])
    entry = np.flatnonzero(np.isfinite(best) & (best <= limit_m))
    if len(entry):
        matrix = csr_matrix((np.concatenate([g.weights, best[entry]]),
                             np.concatenate([g.indices, entry]),
                             np.concatenate([g.indptr, [len(g.indices) + len(entry)]])),
                            shape=(n + 1, n + 1))
        dist = dijkstra(matrix, directed=True, indices=n, limit=limit_m)[:n]
        e = samples.edge
        out = np.minimum(dist[g.edge_u[e]] + samples.offset,
                         dist[g.edge_v[e]] + g.edge_metres[e] - samples.offset)
    # Pieces of a venue's own street, walked straight along it from the snap point.
    lo = np.searchsorted(samples.edge, edge, "left")
    hi = np.searchsorted(samples.edge, edge, "right")
    count = hi - lo
    if count.sum():
        source = np.repeat(np.arange(len(edge)), count)
        index = np.repeat(lo, count) + (np.arange(count.sum())
                                        - np.repeat(np.cumsum(count) - count, count))
        along = np.abs(samples.offset[index] - offset[source]) + metres[source]
        np.minimum.at(out, index, along)
    out[out > limit_m] = np.inf
    return out


def compute(router: Router, wards: Sequence[Ward],
            points: Mapping[str | None, tuple[np.ndarray, np.ndarray]], *, minutes: float,
            pace: str = PACE, spacing: float = SPACING_M) -> list[WardCoverage]:
    """Coverage of every ward for each key of `points` (a category, or None for any)."""
    samples = street_samples(router, wards, spacing=spacing)
    limit = minutes * router.pace(pace).metres_per_minute
    total = np.bincount(samples.ward, weights=samples.weight, minlength=len(wards))
    all_lats = np.concatenate([p[0] for p in points.values()] or [np.zeros(0)])
    all_lons = np.concatenate([p[1] for p in points.values()] or [np.zeros(0)])
    snapped = router.snap_many(all_lats, all_lons)  # once: categories reuse their slices
    out: list[WardCoverage] = []
    start = 0
    for key, (lats, lons) in points.items():
        part = _slice(snapped, start, start + len(lats))
        start += len(lats)
        metres = walked_metres(router, samples, lats, lons, limit_m=limit, snaps=part)
        covered = np.bincount(samples.ward, weights=np.where(np.isfinite(metres),
                                                             samples.weight, 0.0),
                              minlength=len(wards))
        out.extend(WardCoverage(w.id, key, float(total[i]), float(covered[i]))
                   for i, w in enumerate(wards))
    return out


def _slice(batch: Any, lo: int, hi: int) -> Any:
    from dataclasses import fields, replace

    return replace(batch, **{f.name: getattr(batch, f.name)[lo:hi] for f in fields(batch)
                             if isinstance(getattr(batch, f.name), np.ndarray)})


# -- with the database ---------------------------------------------------------------------

def wards(session: Session) -> list[Ward]:
    import shapely

    rows = session.execute(select(Area.id, Area.name, Area.code, Area.geom.ST_AsGeoJSON())
                           .where(Area.kind == "ward").where(Area.retired.is_(False))
                           .order_by(Area.name)).all()
    return [Ward(i, name, code, shapely.geometry.shape(json.loads(geo)))
            for i, name, code, geo in rows]


def fresh_points(session: Session, *, now: datetime) -> dict[str | None, tuple[np.ndarray,
                                                                             np.ndarray]]:
    """Venue points of active, fresh listings: per category, and all together (None)."""
    rows = session.execute(
        select(Activity.category, Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))
        .join(Venue, Venue.id == Activity.venue_id)
        .where(Activity.status == "active", Activity.mode == "in-person",
               state_column(now).in_(FRESH_STATES))).all()
    by: dict[str | None, dict[int, tuple[float, float]]] = defaultdict(dict)
    for category, venue_id, lat, lon in rows:
        by[category][venue_id] = (lat, lon)
        by[None][venue_id] = (lat, lon)
    out: dict[str | None, tuple[np.ndarray, np.ndarray]] = {}
    for key in [None, *sorted(vocab.CATEGORY_IDS)]:
        pts = list(by.get(key, {}).values())
        out[key] = (np.array([p[0] for p in pts], float), np.array([p[1] for p in pts], float))
    return out


@dataclass
class CoverageRun:
    minutes: int
    results: list[WardCoverage]
    skipped: list[str]  # wards no walking network covers
    computed_at: datetime


def run(session: Session, registry: NetworkRegistry, *, now: datetime,
        minutes: int = DEFAULT_MINUTES) -> CoverageRun:
    """Compute and store coverage for every ward a walking network covers."""
    if not 1 <= minutes <= 60:
        raise ValidationError("minutes", "must be between 1 and 60")
    all_wards = wards(session)
    groups: dict[int, tuple[Router, list[Ward]]] = {}
    skipped = []
    for ward in all_wards:
        point = ward.geometry.representative_point()
        router = registry.for_point(point.y, point.x)
        if router is None:
            skipped.append(ward.name)
            continue
        groups.setdefault(id(router), (router, []))[1].append(ward)
    points = fresh_points(session, now=now)
    results: list[WardCoverage] = []
    for router, members in groups.values():
        results.extend(compute(router, members, points, minutes=minutes))
    session.execute(delete(CoverageResult).where(CoverageResult.minutes == minutes))
    session.add_all(CoverageResult(area_id=r.area_id, category=r.category, minutes=minutes,
                                   street_metres=r.street_m, covered_metres=r.covered_m,
                                   computed_at=now) for r in results)
    session.flush()
    return CoverageRun(minutes, results, skipped, now)


# -- reading and words ---------------------------------------------------------------------

@dataclass(frozen=True)
class CoverageRow:
    area_id: int
    ward: str
    code: str
    category: str | None
    minutes: int
    street_m: float
    covered_m: float
    computed_at: datetime
    population: int | None = None  # people living in the ward, when imported

    @property
    def share(self) -> float:
        return self.covered_m / self.street_m if self.street_m > 0 else 0.0

    @property
    def sentence(self) -> str:
        return sentence(self.category, self.minutes, self.share, self.ward)

    def to_dict(self) -> dict[str, Any]:
        return {"area_id": self.area_id, "ward": self.ward, "code": self.code,
                "category": self.category,
                "category_label": vocab.CATEGORY_LABELS.get(self.category or "", None),
                "minutes": self.minutes, "street_km": round(self.street_m / 1000, 2),
                "covered_km": round(self.covered_m / 1000, 2), "share": round(self.share, 4),
                "sentence": self.sentence, "computed_at": self.computed_at.isoformat()}


def stored_minutes(session: Session) -> list[int]:
    return list(session.scalars(select(CoverageResult.minutes).distinct()
                                .order_by(CoverageResult.minutes)))


def results(session: Session, *, minutes: int, category: str | None = None
            ) -> list[CoverageRow]:
    """Stored results for one walk length and one category (None: any), by ward name."""
    stmt = (select(CoverageResult, Area.name, Area.code)
            .join(Area, Area.id == CoverageResult.area_id)
            .where(CoverageResult.minutes == minutes, Area.retired.is_(False))
            .order_by(Area.name))
    stmt = stmt.where(CoverageResult.category.is_(None) if category is None
                      else CoverageResult.category == category)
    return [CoverageRow(r.area_id, name, code, r.category, r.minutes, r.street_metres,
                        r.covered_metres, r.computed_at)
            for r, name, code in session.execute(stmt)]


#: A ward where at least this share of the streets has nothing fresh of any kind within the
#: walk leads the gaps: no single kind of activity can matter more than that.
HEADLINE_SHARE = 0.5


def worst_gaps(session: Session, *, minutes: int, limit: int = 12) -> list[CoverageRow]:
    """The biggest gaps first: wards where most streets (HEADLINE_SHARE) have nothing fresh
    of any kind within the walk, then the (ward, category) pairs with the least coverage,
    for categories with a fresh listing covering something somewhere.

    The size of a gap is the share of the ward's streets it leaves out; once ward
    populations are imported (`assetmap areas population`), that share times the people who
    live there. The largest wards come first among equals."""
    present = select(CoverageResult.category).where(
        CoverageResult.minutes == minutes, CoverageResult.category.is_not(None),
        CoverageResult.covered_metres > 0).distinct()
    share = CoverageResult.covered_metres / CoverageResult.street_metres
    stmt = (select(CoverageResult, Area.name, Area.code, Area.population)
            .join(Area, Area.id == CoverageResult.area_id)
            .where(CoverageResult.minutes == minutes, CoverageResult.street_metres > 0,
                   Area.retired.is_(False),
                   or_(CoverageResult.category.in_(present),
                       and_(CoverageResult.category.is_(None),
                            share <= 1 - HEADLINE_SHARE))))
    rows = [CoverageRow(r.area_id, name, code, r.category, r.minutes, r.street_metres,
                        r.covered_metres, r.computed_at, population)
            for r, name, code, population in session.execute(stmt)]
    weighted = any(r.population for r in rows)

    def size(row: CoverageRow) -> tuple:
        gap = 1 - row.share
        return (-(gap * (row.population or 0)) if weighted else -gap, -row.street_m,
                row.ward, row.category or "")

    headline = sorted((r for r in rows if r.category is None), key=size)
    by_kind = sorted((r for r in rows if r.category is not None), key=size)
    return [*headline, *by_kind][:limit]


def last_computed(session: Session) -> datetime | None:
    return session.scalar(select(func.max(CoverageResult.computed_at)))


def sentence(category: str | None, minutes: int, share: float, ward: str) -> str:
    """'no men's group within 15 minutes' walk of 70% of Kilburn'."""
    what = _lower(vocab.CATEGORY_LABELS[category]) if category else "active, fresh listing"
    a = "an" if what[0] in "aeiou" else "a"
    walk = f"{minutes} minutes' walk" if minutes != 1 else "1 minute's walk"
    gap = round((1 - share) * 100)
    if share >= 1 or gap == 0:
        return f"every street in {ward} is within {walk} of {a} {what}"
    if share <= 0:
        return f"no {what} within {walk} anywhere in {ward}"
    return f"no {what} within {walk} of {gap}% of {ward}"


def _lower(label: str) -> str:
    return label[0].lower() + label[1:] if label[1:2].islower() else label
