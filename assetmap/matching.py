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
from .freshness import assess
from .geocode import geocode_postcode, parse_lat_lon
from .models import Activity, ActivityTag, Venue
from .schedule import DAY_CODES, DAY_NAMES, LONDON, next_sessions, occurrences
from .schedule import Session as Sitting
from .serialize import activity_to_dict
from .spatial import lat_of, lon_of
from .walking import PACES, NetworkRegistry, Router

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
TIMES = {"morning": (time(5), time(12)), "afternoon": (time(12), time(17)),
         "evening": (time(17), time(23, 59))}
FRESHNESS_POINTS = {"fresh": 10, "due-soon": 5, "stale": -15, "very-stale": -25,
                    "unknown": -20, "possibly-closed": -30}


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

    @classmethod
    def from_args(cls, args: dict[str, str], *, data_dir: Path) -> MatchQuery:
        """Validated from query parameters (or CLI options): 400s name the parameter."""
        postcode = (args.get("postcode") or "").strip()
        if postcode:
            found = geocode_postcode(postcode, data_dir)
            lat, lon, method, approx = found.lat, found.lon, found.method, found.approximate
            postcode = found.postcode
        elif args.get("lat") or args.get("lon"):
            lat, lon = parse_lat_lon(args.get("lat"), args.get("lon"))
            method, approx, postcode = "lat-lon", False, ""
        else:
            raise ValidationError("postcode", "give a postcode, or lat and lon")
        minutes = _int(args.get("minutes"), "minutes", default=15, low=1, high=60)
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
        return cls(lat, lon, method, approx, postcode or None, minutes, pace, needs, interests,
                   day, time_of_day, free in ("1", "true", "yes"))


def _int(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        raise ValidationError(name, f"{raw!r} is not a whole number ({low}-{high})") from None
    if not low <= value <= high:
        raise ValidationError(name, f"{value} is outside {low}-{high}")
    return value


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
                 now: datetime, limit: int = 200) -> MatchResult:
    name, router = service.router_for(query.lat, query.lon)
    pace = PACES[query.pace]
    origin = {"lat": query.lat, "lon": query.lon, "method": query.origin_method,
              "approximate": query.origin_approximate, "postcode": query.postcode}
    if router is None:
        return _estimated(session, query, origin, now=now, limit=limit)
    reach = router.reach(query.lat, query.lon, query.minutes, pace.name)
    snaps = service.venue_snaps(session, name, router, pace.avoid_steps)
    metres, minutes = router.walk_to_snaps(reach, snaps.batch)
    within = np.flatnonzero(np.isfinite(metres))
    walk = {int(snaps.venue_ids[i]): (float(metres[i]), float(minutes[i])) for i in within}
    isochrone = router.isochrone(reach) if not reach.estimated else _circle(query, pace)
    matches = _rank(session, query, walk, now=now, limit=limit)
    return MatchResult(origin, isochrone, name, reach.estimated, matches)


def _estimated(session: Session, query: MatchQuery, origin: dict, *, now: datetime,
               limit: int) -> MatchResult:
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
    matches = _rank(session, query, walk, now=now, limit=limit)
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
    if not walk:
        return []
    stmt = (select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
            .join(Venue, Activity.venue_id == Venue.id)
            .where(Activity.status == "active")
            .options(selectinload(Activity.tag_rows), selectinload(Activity.schedule_rows),
                     selectinload(Activity.venue), selectinload(Activity.organisation),
                     selectinload(Activity.source_links)))
    venue_ids = list(walk)
    for need in query.needs:
        stmt = stmt.where(Activity.id.in_(select(ActivityTag.activity_id)
                                          .where(ActivityTag.tag == need)))
    if query.free_only:
        stmt = stmt.where(Activity.cost_kind == "free")
    start, end = _window(query, now)
    scored = []
    for chunk in range(0, len(venue_ids), 900):  # SQLite's bound-parameter limit
        part = stmt.where(Activity.venue_id.in_(venue_ids[chunk:chunk + 900]))
        for activity, lat, lon in session.execute(part):
            rules = activity.schedules
            sittings = [s for s in occurrences(rules, start, end) if _fits(s, query)]
            if (query.day or query.time_of_day) and not sittings:
                continue
            metres, minutes = walk[activity.venue_id]
            scored.append(_score(activity, lat, lon, metres, minutes, query, sittings, now))
    scored.sort(key=lambda m: (-m["score"], m["walk_minutes"], m["id"]))
    return scored[:limit]


def _score(activity: Activity, lat: float, lon: float, metres: float, minutes: float,
           query: MatchQuery, sittings: list[Sitting], now: datetime) -> dict:
    why: list[str] = []
    score = 50.0 * (1 - minutes / max(query.minutes, 1)) + 20
    why.append(f"{math.ceil(minutes)} min walk ({round(metres)} m) at a {query.pace} pace")
    if query.needs:
        labels = ", ".join(vocab.TAG_LABELS[n].lower() for n in query.needs)
        why.append(f"meets every need asked for: {labels}")
    if activity.category in query.interests:
        score += 25
        why.append(f"matches an interest: {vocab.CATEGORY_LABELS[activity.category]}")
    if sittings:
        score += 10
        why.append(f"has a session {_when_words(query)}")
    possibly_closed = any(link.missed_runs >= 3 for link in activity.source_links)
    fresh = assess(activity.last_verified_at, activity.last_verified_method, now,
                   possibly_closed=possibly_closed)
    score += FRESHNESS_POINTS[fresh.state]
    why.append(f"freshness: {fresh.words}" + (" (ranked lower)" if fresh.is_stale else ""))
    data = activity_to_dict(activity, now=now, lat=lat, lon=lon)
    upcoming = sittings[:3] or next_sessions(activity.schedules, now, count=3)
    return {
        "id": activity.id, "name": activity.name, "category": activity.category,
        "category_label": data["category_label"], "venue": data["venue"],
        "walk_metres": round(metres), "walk_minutes": round(minutes, 1),
        "next_sessions": [s.to_dict() for s in upcoming], "schedule_text": data["schedule_text"],
        "cost": data["cost"], "tags": data["tags"], "freshness": data["freshness"],
        "stale": fresh.is_stale, "score": round(score, 1), "why": why, "estimated": False,
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
