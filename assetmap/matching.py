"""Needs + walking reach -> ranked matches, each with the reasons it ranks where it does.

Hard filters: within the walk, active, the person's needs (suitability tags), free if asked,
and a session in the asked-for day and time of day. Soft: interests, walking time, freshness.
Stale listings stay in the answer, ranked lower and marked.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from . import vocab
from .errors import ValidationError
from .freshness import current
from .geocode import geocode_postcode, parse_lat_lon
from .models import Activity, ActivityTag, ScheduleEntry, Venue
from .params import int_param
from .schedule import DAY_CODES, DAY_NAMES, LONDON, ScheduleRule, occurrences
from .schedule import Session as Sitting
from .serialize import activity_to_dict
from .spatial import lat_of, lon_of
from .walking import PACES, NetworkRegistry, Router

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
TIMES = {"morning": (time(5), time(12)), "afternoon": (time(12), time(17)),
         "evening": (time(17), time(23, 59))}
FRESHNESS_POINTS = {"fresh": 10, "due-soon": 5, "stale": -15, "very-stale": -25,
                    "unknown": -20, "possibly-closed": -30}
STALE_STATES = frozenset({"stale", "very-stale", "unknown", "possibly-closed"})
INTEREST_POINTS = 25
SESSION_POINTS = 10
VENUE_CHUNK = 5000  # bound parameters per IN list (SQLite allows 32766)
FIRST_VENUE_BATCH = 40
SCHEDULE_BATCH = 100


@dataclass(frozen=True)
class MatchQuery:
    lat: float
    lon: float
    origin_method: str  # postcode / outcode / lat-lon
    origin_approximate: bool
    postcode: str | None = None
    minutes: int = 15
    pace: str = "typical"
    needs: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    day: str | None = None  # mon..sun / today / week
    time_of_day: str | None = None
    free_only: bool = False
    limit: int = 50
    origin_note: str | None = None  # e.g. "that postcode is no longer in use; ..."

    @classmethod
    def from_args(cls, args: dict[str, str], *, data_dir: Path, session: Session) -> MatchQuery:
        """Validated from query parameters (or CLI options): 400s name the parameter."""
        postcode = (args.get("postcode") or "").strip()
        if postcode:
            found = geocode_postcode(postcode, data_dir, session)
            lat, lon, method, approx = found.lat, found.lon, found.method, found.approximate
            postcode, note = found.postcode, found.note
        elif args.get("lat") or args.get("lon"):
            lat, lon = parse_lat_lon(args.get("lat"), args.get("lon"))
            method, approx, postcode, note = "lat-lon", False, "", None
        else:
            raise ValidationError("postcode", "give a postcode, or lat and lon")
        minutes = int_param(args.get("minutes"), "minutes", default=15, low=1, high=60)
        pace = args.get("pace") or "typical"
        if pace not in PACES:
            raise ValidationError("pace", f"unknown pace {pace!r}", allowed=list(PACES))
        needs = _terms(args.get("needs"), "needs", vocab.TAG_IDS)
        interests = _terms(args.get("interests"), "interests", vocab.CATEGORY_IDS)
        day = (args.get("day") or "").strip().lower() or None
        if day is not None and day not in (*DAYS, "today", "week"):
            raise ValidationError("day", f"unknown day {day!r}",
                                  allowed=[*DAYS, "today", "week"])
        time_of_day = (args.get("time") or "").strip().lower() or None
        if time_of_day is not None and time_of_day not in TIMES:
            raise ValidationError("time", f"unknown time of day {time_of_day!r}",
                                  allowed=list(TIMES))
        free = (args.get("free") or "0").strip().lower()
        if free not in ("0", "1", "true", "false", "yes", "no"):
            raise ValidationError("free", f"{free!r} is not 1 or 0", allowed=["1", "0"])
        limit = int_param(args.get("limit"), "limit", default=50, low=1, high=200)
        return cls(lat, lon, method, approx, postcode or None, minutes, pace, needs, interests,
                   day, time_of_day, free in ("1", "true", "yes"), limit, note)


def _terms(raw: str | None, name: str, allowed: frozenset[str]) -> tuple[str, ...]:
    values = tuple(v.strip() for v in (raw or "").split(",") if v.strip())
    for v in values:
        if v not in allowed:
            raise ValidationError(name, f"unknown value {v!r}", allowed=sorted(allowed))
    return values


@dataclass
class VenueSnaps:
    """All venues snapped onto one network for one step rule, reused across queries."""

    venue_ids: np.ndarray
    batch: Any
    stamp: tuple


class WalkingService:
    """Per-app cache of networks and of venue snaps; thread-safe."""

    def __init__(self, network_dir: Path) -> None:
        self.registry = NetworkRegistry(network_dir)
        self._snaps: dict[tuple[str, bool], VenueSnaps] = {}
        self._lock = threading.Lock()

    def router_for(self, lat: float, lon: float) -> tuple[str | None, Router | None]:
        router = self.registry.for_point(lat, lon)
        if router is None:
            return None, None
        return router.graph.meta.name, router

    def venue_snaps(self, session: Session, name: str, router: Router,
                    avoid_steps: bool) -> VenueSnaps:
        stamp = session.execute(select(Venue.id, Venue.updated_at).order_by(
            Venue.updated_at.desc(), Venue.id.desc()).limit(1)).first()
        count = session.scalar(select(Venue.id).order_by(Venue.id.desc()).limit(1))
        key = (name, avoid_steps)
        stamp_key = (tuple(stamp) if stamp else None, count)
        with self._lock:
            cached = self._snaps.get(key)
            if cached is not None and cached.stamp == stamp_key:
                return cached
        rows = session.execute(select(Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))).all()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        lats = np.array([r[1] for r in rows], dtype=np.float64)
        lons = np.array([r[2] for r in rows], dtype=np.float64)
        snaps = VenueSnaps(ids, router.snap_many(lats, lons, avoid_steps=avoid_steps), stamp_key)
        with self._lock:
            self._snaps[key] = snaps
        return snaps


@dataclass
class MatchResult:
    origin: dict
    isochrone: dict | None
    network: str | None
    estimated: bool
    matches: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"origin": self.origin, "network": self.network, "estimated": self.estimated,
                "isochrone": self.isochrone, "matches": self.matches}


def _window(query: MatchQuery, now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(LONDON)
    if query.day in (None, "week"):
        return now, now + timedelta(days=7)
    if query.day == "today":
        target = local.date()
    else:
        target = local.date() + timedelta(days=(DAYS[query.day] - local.weekday()) % 7)
    start = datetime.combine(target, time(0), tzinfo=LONDON)
    return max(start, now - timedelta(hours=3)), start + timedelta(days=1)


def _fits(sitting: Sitting, query: MatchQuery) -> bool:
    if query.time_of_day is None:
        return True
    lo, hi = TIMES[query.time_of_day]
    return lo <= sitting.start.astimezone(LONDON).time() < hi


def _when_words(query: MatchQuery) -> str:
    if query.day in DAYS:
        day = "on " + DAY_NAMES[DAY_CODES[DAYS[query.day]]]
    else:
        day = "today" if query.day == "today" else "in the next week"
    return day + (f" in the {query.time_of_day}" if query.time_of_day else "")


def walking_service(app) -> WalkingService:
    """The app's walking service, made on first use (networks load lazily too)."""
    service = app.extensions.get("assetmap.walking")
    if service is None:
        service = app.extensions["assetmap.walking"] = WalkingService(app.config["NETWORK_DIR"])
    return service


def find_matches(session: Session, service: WalkingService, query: MatchQuery, *,
                 now: datetime) -> MatchResult:
    name, router = service.router_for(query.lat, query.lon)
    pace = PACES[query.pace]
    origin = {"lat": query.lat, "lon": query.lon, "method": query.origin_method,
              "approximate": query.origin_approximate, "postcode": query.postcode}
    if query.origin_note:
        origin["note"] = query.origin_note
    if router is None:
        return _estimated(session, query, origin, now=now)
    reach = router.reach(query.lat, query.lon, query.minutes, pace.name)
    snaps = service.venue_snaps(session, name, router, pace.avoid_steps)
    metres, minutes = router.walk_to_snaps(reach, snaps.batch)
    within = np.flatnonzero(np.isfinite(metres))
    walk = {int(snaps.venue_ids[i]): (float(metres[i]), float(minutes[i])) for i in within}
    isochrone = router.isochrone(reach) if not reach.estimated else _circle(query, pace)
    matches = _rank(session, query, walk, now=now, limit=query.limit)
    return MatchResult(origin, isochrone, name, reach.estimated, matches)


def _estimated(session: Session, query: MatchQuery, origin: dict, *,
               now: datetime) -> MatchResult:
    """No network covers the origin: straight line × detour factor, marked estimated."""
    from .services.venues import haversine_m
    from .walking.router import DETOUR_FACTOR

    pace = PACES[query.pace]
    limit_m = query.minutes * pace.metres_per_minute
    radius_deg = limit_m / 111_000
    rows = session.execute(select(Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))).all()
    walk = {}
    for venue_id, lat, lon in rows:
        if abs(lat - query.lat) > radius_deg * 1.5:
            continue
        metres = DETOUR_FACTOR * haversine_m(query.lat, query.lon, lat, lon)
        if metres <= limit_m:
            walk[venue_id] = (metres, metres / pace.metres_per_minute)
    matches = _rank(session, query, walk, now=now, limit=query.limit)
    for m in matches:
        m["estimated"] = True
    return MatchResult(origin, _circle(query, pace), None, True, matches)


def _circle(query: MatchQuery, pace) -> dict:
    from .walking.router import DETOUR_FACTOR

    radius = query.minutes * pace.metres_per_minute / DETOUR_FACTOR
    ring = []
    for step in range(65):
        angle = 2 * math.pi * step / 64
        ring.append([query.lon + radius * math.sin(angle) / (111_320 * math.cos(
            math.radians(query.lat))), query.lat + radius * math.cos(angle) / 110_574])
    return {"type": "Polygon", "coordinates": [ring]}


def _rank(session: Session, query: MatchQuery, walk: dict[int, tuple[float, float]], *,
          now: datetime, limit: int) -> list[dict]:
    """Exact top `limit`, touching as little as possible.

    Venues are read nearest first, in growing batches; each listing is first scored from
    plain columns (walk, interests, freshness), schedules are read only for candidates that
    could still make the list, and reading stops once no listing at a farther venue could
    beat the last one kept even with every bonus. Full listings load only for the winners.
    """
    if not walk:
        return []
    base = (select(Activity.id, Activity.venue_id, Activity.category,
                   Activity.last_verified_at, Activity.last_verified_method,
                   Activity.possibly_closed, Activity.freshness_state,
                   Activity.freshness_due_at)
            .where(Activity.status == "active"))
    for need in query.needs:
        base = base.where(Activity.id.in_(select(ActivityTag.activity_id)
                                          .where(ActivityTag.tag == need)))
    if query.free_only:
        base = base.where(Activity.cost_kind == "free")
    venues = sorted(walk, key=lambda v: (walk[v][1], v))
    best_bonus = max(FRESHNESS_POINTS.values()) + SESSION_POINTS + (
        INTEREST_POINTS if query.interests else 0)
    start, end = _window(query, now)
    needs_session = bool(query.day or query.time_of_day)
    kept: list[tuple[float, int, list[Sitting]]] = []
    read, batch_size = 0, FIRST_VENUE_BATCH
    while read < len(venues):
        if len(kept) >= limit and (_base_score(walk[venues[read]][1], query) + best_bonus
                                   < kept[-1][0]):
            break  # nothing farther can make the list
        chunk = venues[read:read + batch_size]
        read += len(chunk)
        batch_size = min(batch_size * 2, VENUE_CHUNK)
        candidates = []
        for (aid, venue_id, category, verified_at, method, closed, cached_state,
             due_at) in session.execute(base.where(Activity.venue_id.in_(chunk))):
            state = current(now, cached_state=cached_state, due_at=due_at,
                            last_verified_at=verified_at, method=method, category=category,
                            possibly_closed=bool(closed)).state
            score = _base_score(walk[venue_id][1], query) + FRESHNESS_POINTS[state] + (
                INTEREST_POINTS if category in query.interests else 0)
            candidates.append((score, aid))
        candidates.sort(key=lambda c: (-c[0], c[1]))
        _keep_best(session, candidates, kept, query, start, end, needs_session, limit)
    if not kept:
        return []
    rows = session.execute(
        select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
        .join(Venue, Activity.venue_id == Venue.id)
        .where(Activity.id.in_([aid for _score, aid, _sittings in kept]))
        .options(selectinload(Activity.tag_rows), selectinload(Activity.schedule_rows),
                 selectinload(Activity.venue), selectinload(Activity.organisation),
                 selectinload(Activity.source_links))).all()
    loaded = {activity.id: (activity, lat, lon) for activity, lat, lon in rows}
    results = []
    for score, aid, sittings in kept:
        activity, lat, lon = loaded[aid]
        metres, minutes = walk[activity.venue_id]
        results.append(_describe(activity, lat, lon, metres, minutes, query, sittings, now,
                                 score))
    results.sort(key=lambda m: (-m["score"], m["walk_minutes"], m["id"]))
    return results


def _keep_best(session: Session, candidates: list[tuple[float, int]],
               kept: list[tuple[float, int, list[Sitting]]], query: MatchQuery,
               start: datetime, end: datetime, needs_session: bool, limit: int) -> None:
    """Fold scored candidates (best first) into `kept`, reading schedules in batches."""
    position = 0
    while position < len(candidates):
        if len(kept) >= limit and candidates[position][0] + SESSION_POINTS < kept[-1][0]:
            return
        batch = candidates[position:position + SCHEDULE_BATCH]
        position += len(batch)
        rules_by_id: dict[int, list[ScheduleRule]] = {}
        for activity_id, rule in session.execute(
                select(ScheduleEntry.activity_id, ScheduleEntry.rule)
                .where(ScheduleEntry.activity_id.in_([c[1] for c in batch]))
                .order_by(ScheduleEntry.activity_id, ScheduleEntry.position)):
            rules_by_id.setdefault(activity_id, []).append(ScheduleRule.from_dict(rule))
        for score, aid in batch:
            sittings = [x for x in occurrences(rules_by_id.get(aid, []), start, end)
                        if _fits(x, query)]
            if needs_session and not sittings:
                continue
            kept.append((score + (SESSION_POINTS if sittings else 0), aid, sittings))
        kept.sort(key=lambda k: (-k[0], k[1]))
        del kept[limit:]


def _base_score(minutes: float, query: MatchQuery) -> float:
    return 50.0 * (1 - minutes / max(query.minutes, 1)) + 20


def _describe(activity: Activity, lat: float, lon: float, metres: float, minutes: float,
              query: MatchQuery, sittings: list[Sitting], now: datetime, score: float) -> dict:
    """One match as the API shows it, with the reasons behind its place."""
    why: list[str] = [
        f"{math.ceil(minutes)} min walk ({round(metres)} m) at a {query.pace} pace"]
    if query.needs:
        labels = ", ".join(vocab.TAG_LABELS[n].lower() for n in query.needs)
        why.append(f"meets every need asked for: {labels}")
    if activity.category in query.interests:
        why.append(f"matches an interest: {vocab.CATEGORY_LABELS[activity.category]}")
    if sittings:
        why.append(f"has a session {_when_words(query)}")
    data = activity_to_dict(activity, now=now, lat=lat, lon=lon)
    fresh = data["freshness"]
    stale = fresh["state"] in STALE_STATES
    why.append(f"freshness: {fresh['words']}" + (" (ranked lower)" if stale else ""))
    upcoming = [x.to_dict() for x in sittings[:3]] or data["next_sessions"]
    return {
        "id": activity.id, "name": activity.name, "category": activity.category,
        "category_label": data["category_label"], "venue": data["venue"],
        "walk_metres": round(metres), "walk_minutes": round(minutes, 1),
        "next_sessions": upcoming, "schedule_text": data["schedule_text"],
        "cost": data["cost"], "tags": data["tags"], "freshness": fresh,
        "stale": stale, "score": round(score, 1), "why": why, "estimated": False,
    }


def estimated_route(query: MatchQuery, lat: float, lon: float) -> dict:
    """A straight line marked estimated, for origins outside every network."""
    from .services.venues import haversine_m
    from .walking.router import DETOUR_FACTOR

    metres = DETOUR_FACTOR * haversine_m(query.lat, query.lon, lat, lon)
    return {"type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[query.lon, query.lat],
                                                               [lon, lat]]},
            "properties": {"metres": round(metres),
                           "minutes": round(metres / PACES[query.pace].metres_per_minute, 1),
                           "pace": query.pace, "estimated": True}}
