"""Needs + walking reach -> ranked matches, each with the reasons it ranks where it does.

Hard filters: within the walk, active, the person's needs (suitability tags), free if asked,
and a session in the asked-for day and time of day. Soft: interests, walking time, freshness.
Stale listings stay in the answer, ranked lower and marked.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.geo import METRES_PER_DEGREE, haversine_m
from assetmap.listings.query import ListingSummary
from assetmap.listings.serialize import summary_to_dict
from assetmap.matching.candidates import Candidate, CandidateIndex, Wanted
from assetmap.matching.suitability import WELCOMING_POINTS, welcoming_points, welcoming_words
from assetmap.models import Activity, Venue
from assetmap.models.changes import Tokens
from assetmap.params import in_range
from assetmap.places.geocode import geocode_postcode
from assetmap.referral.intake import (
    BEST_INTAKE_POINTS,
    INTAKE_LABELS,
    INTAKE_POINTS,
    NOT_TAKING,
)
from assetmap.referral.languages import LANGUAGES, language_code
from assetmap.schedule import DAY_CODES, DAY_NAMES, LONDON, ScheduleRule, occurrences
from assetmap.schedule import Session as Sitting
from assetmap.spatial import lat_of, lon_of
from assetmap.values import CHUNK
from assetmap.walking import MINUTES_RANGE, PACES, Router
from assetmap.walking.router import crow_flies_metres, detour_metres
from assetmap.walking.service import WalkingService

DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
TIMES = {"morning": (time(5), time(12)), "afternoon": (time(12), time(17)),
         "evening": (time(17), time(23, 59))}
FRESHNESS_POINTS = {"fresh": 10, "due-soon": 5, "stale": -15, "very-stale": -25,
                    "unknown": -20, "possibly-closed": -30}
STALE_STATES = frozenset({"stale", "very-stale", "unknown", "possibly-closed"})
BEST_FRESHNESS = max(FRESHNESS_POINTS.values())
INTEREST_POINTS = 25
SESSION_POINTS = 10
FIRST_VENUE_BATCH = 40
#: A listing kept for the answer: score, its id negated (a heap's top is the last kept: the
#: lowest score, then the highest id), its sessions in the window and its schedule rules.
Kept = tuple[float, int, list[Sitting], tuple[ScheduleRule, ...]]
#: A listing that might make the answer: the best it could score (fresh, with a session),
#: its id, the part of its score known without freshness or sessions, and the listing.
Hope = tuple[float, int, float, Candidate]
#: Venue id -> (metres, minutes) walked to it.
Walk = dict[int, tuple[float, float]]


#: How many matches a search may return.
LIMIT_RANGE = (1, 200)
DAY_CHOICES = (*DAYS, "today", "week")


@dataclass(frozen=True)
class Origin:
    """Where a search starts: a postcode found in the postcode table, or a point given."""

    lat: float
    lon: float
    method: str  # postcode / outcode / terminated / lat-lon
    approximate: bool = False
    postcode: str | None = None
    note: str | None = None  # e.g. "that postcode is no longer in use; ..."


def origin_at(session: Session, data_dir: Path, *, postcode: str = "",
              point: tuple[float, float] | None = None) -> Origin:
    """The postcode's place when one is given (GeocodeError names `postcode`), else the point
    (already checked); neither is a ValidationError naming `postcode`."""
    postcode = postcode.strip()
    if postcode:
        found = geocode_postcode(postcode, data_dir, session)
        return Origin(found.lat, found.lon, found.method, found.approximate,
                      found.postcode or None, found.note)
    if point is not None:
        return Origin(point[0], point[1], "lat-lon")
    raise ValidationError("postcode", "give a postcode, or lat and lon")


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
    newcomers: bool = False  # only groups not said to be full or on a waiting list
    language: str | None = None  # only listings that run in this language (a code)
    origin_note: str | None = None  # e.g. "that postcode is no longer in use; ..."

    @property
    def tag_needs(self) -> tuple[str, ...]:
        """The needs a listing meets by its tags or its venue's accessibility (the rest, like
        "near a bus stop", are judged from where the venue is)."""
        return tuple(n for n in self.needs if n not in vocab.PLACE_NEED_IDS)

    @classmethod
    def checked(cls, origin: Origin, *, minutes: int = 15, pace: str = "typical",
                needs: Sequence[str] = (), interests: Sequence[str] = (),
                day: str | None = None, time_of_day: str | None = None,
                free_only: bool = False, limit: int = 50, newcomers: bool = False,
                language: str | None = None) -> MatchQuery:
        """A search from typed values, each checked here (the web form and the CLI parse
        text into these); ValidationError names the parameter (`time` for the time of day)."""
        in_range(minutes, "minutes", *MINUTES_RANGE)
        pace = pace or "typical"
        if pace not in PACES:
            raise ValidationError("pace", f"unknown pace {pace!r}", allowed=list(PACES))
        needs = _terms(needs, "needs", vocab.NEED_IDS)
        interests = _terms(interests, "interests", vocab.CATEGORY_IDS)
        day = (day or "").strip().lower() or None
        if day is not None and day not in DAY_CHOICES:
            raise ValidationError("day", f"unknown day {day!r}", allowed=list(DAY_CHOICES))
        time_of_day = (time_of_day or "").strip().lower() or None
        if time_of_day is not None and time_of_day not in TIMES:
            raise ValidationError("time", f"unknown time of day {time_of_day!r}",
                                  allowed=list(TIMES))
        in_range(limit, "limit", *LIMIT_RANGE)
        language = (language or "").strip()
        return cls(origin.lat, origin.lon, origin.method, origin.approximate, origin.postcode,
                   minutes, pace, tuple(needs), tuple(interests), day, time_of_day, free_only,
                   limit, newcomers=newcomers,
                   language=language_code(language, "language") if language else None,
                   origin_note=origin.note)


def _terms(given: Sequence[str], name: str, allowed: frozenset[str]) -> tuple[str, ...]:
    values = tuple(v.strip() for v in given if v.strip())
    for v in values:
        if v not in allowed:
            raise ValidationError(name, f"unknown value {v!r}", allowed=sorted(allowed))
    return values


def search_window(query: MatchQuery, now: datetime) -> tuple[datetime, datetime]:
    """When the asked-for day runs (the next week when no day is asked for)."""
    local = now.astimezone(LONDON)
    if query.day in (None, "week"):
        return now, now + timedelta(days=7)
    if query.day == "today":
        target = local.date()
    else:
        target = local.date() + timedelta(days=(DAYS[query.day] - local.weekday()) % 7)
    start = datetime.combine(target, time(0), tzinfo=LONDON)
    return max(start, now - timedelta(hours=3)), start + timedelta(days=1)


def wanted(query: MatchQuery, now: datetime) -> Wanted:
    """What the search asks of every listing, near or far, by phone or online. When one
    day is asked for, listings never meeting on that weekday are dropped before their
    sessions are worked out (the window is that day: its sessions start on it)."""
    weekday = None if query.day in (None, "week") else (
        search_window(query, now)[0].astimezone(LONDON).weekday())
    return Wanted(frozenset(query.tag_needs), query.free_only, query.newcomers, weekday,
                  query.language)


def fits_time(sitting: Sitting, query: MatchQuery) -> bool:
    """Whether a session starts in the asked-for time of day."""
    if query.time_of_day is None:
        return True
    lo, hi = TIMES[query.time_of_day]
    return lo <= sitting.start.astimezone(LONDON).time() < hi


class SessionsIn:
    """A listing's sessions in a search's window and time of day, worked out once per distinct
    set of rules: the hundreds of listings one search reads share a handful of schedules."""

    def __init__(self, query: MatchQuery, start: datetime, end: datetime) -> None:
        self._query, self._start, self._end = query, start, end
        self._seen: dict[tuple[ScheduleRule, ...], list[Sitting]] = {}

    def __call__(self, rules: Sequence[ScheduleRule]) -> list[Sitting]:
        key = tuple(rules)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = [x for x in occurrences(rules, self._start, self._end)
                                       if fits_time(x, self._query)]
        return list(found)  # a copy: callers own their list


def when_words(query: MatchQuery) -> str:
    if query.day in DAYS:
        day = "on " + DAY_NAMES[DAY_CODES[DAYS[query.day]]]
    else:
        day = "today" if query.day == "today" else "in the next week"
    return day + (f" in the {query.time_of_day}" if query.time_of_day else "")


def network_walk(session: Session, service: WalkingService, name: str, router: Router,
                 reach: Any, pace: Any, tokens: Tokens | None = None) -> Walk:
    """Venue id -> (metres, minutes) for every venue the reach gets to on the network."""
    snaps = service.venue_snaps(session, name, router, pace.avoid_steps, tokens)
    metres, minutes = router.walk_to_snaps(reach, snaps.batch)
    within = np.flatnonzero(np.isfinite(metres))
    return {int(snaps.venue_ids[i]): (float(metres[i]), float(minutes[i])) for i in within}


def estimated_walk(session: Session, lat0: float, lon0: float, minutes: int,
                   pace: Any) -> Walk:
    """Venue id -> (metres, minutes) by straight line x detour factor (no network here)."""
    limit_m = minutes * pace.metres_per_minute
    radius_deg = crow_flies_metres(limit_m) / METRES_PER_DEGREE
    rows = session.execute(select(Venue.id, lat_of(Venue.geom), lon_of(Venue.geom))).all()
    walk = {}
    for venue_id, lat, lon in rows:
        if abs(lat - lat0) > radius_deg * 1.01:
            continue
        metres = detour_metres(haversine_m(lat0, lon0, lat, lon))
        if metres <= limit_m:
            walk[venue_id] = (metres, metres / pace.metres_per_minute)
    return walk


def venues_within_walk(session: Session, service: WalkingService, lat: float, lon: float, *,
                       minutes: int, pace: str) -> tuple[Walk, bool]:
    """Venue id -> (metres, minutes) for the venues within `minutes` walk of a point, and
    whether that is estimated (no street network covers the point)."""
    name, router = service.router_for(lat, lon)
    chosen = PACES[pace]
    if router is None:
        return estimated_walk(session, lat, lon, minutes, chosen), True
    assert name is not None  # router_for names every router it finds
    reach = router.reach(lat, lon, minutes, chosen.name)
    return network_walk(session, service, name, router, reach, chosen), reach.estimated


def circle(query: MatchQuery, pace: Any) -> dict:
    """The walking area where no network draws it: the straight-line reach."""
    radius = crow_flies_metres(query.minutes * pace.metres_per_minute) / METRES_PER_DEGREE
    ring = []
    for step in range(65):
        angle = 2 * math.pi * step / 64
        ring.append([query.lon + radius * math.sin(angle) / math.cos(math.radians(query.lat)),
                     query.lat + radius * math.cos(angle)])
    return {"type": "Polygon", "coordinates": [ring]}


def rank_walking(query: MatchQuery, walk: Walk, listed: CandidateIndex, wants: Wanted,
                 sessions: SessionsIn, *, now: datetime, limit: int) -> list[Kept]:
    """The exact top `limit` of the listings at the venues walked to, touching as little as
    possible (what is shown of them is read by the caller, set-wise).

    Venues are taken nearest first, in growing batches, with the listings held in memory
    (`candidates`); each listing is first scored from plain columns (walk, interests, intake,
    welcome), freshness and sessions are worked out, best hope first, only for those that
    could still make the list, and the batches stop once no listing at a farther venue could
    beat the last one kept even with every bonus.
    """
    if not walk:
        return []
    venues = sorted(walk, key=lambda v: (walk[v][1], v))
    best_bonus = BEST_FRESHNESS + SESSION_POINTS + BEST_INTAKE_POINTS + (
        WELCOMING_POINTS) + (INTEREST_POINTS if query.interests else 0)
    kept: list[Kept] = []
    taken, batch_size = 0, FIRST_VENUE_BATCH
    while taken < len(venues):
        chunk = venues[taken:taken + batch_size]
        # The score to beat: no listing scoring below the last one kept can make the list.
        floor = kept[0][0] if len(kept) >= limit else -math.inf
        # Venues are nearest first, so those where a listing could still get there with
        # every bonus are a prefix of the chunk; none at all means nothing farther can.
        near = 0
        while near < len(chunk) and (_base_score(walk[chunk[near]][1], query) + best_bonus
                                     >= floor):
            near += 1
        if not near:
            break
        chunk = chunk[:near]
        taken += len(chunk)
        batch_size = min(batch_size * 2, CHUNK)
        hopes: list[Hope] = []
        for venue_id in chunk:
            walked = _base_score(walk[venue_id][1], query)
            for listing in listed.at(venue_id, wants):
                known = walked + standing_points(listing, query)
                best = known + BEST_FRESHNESS + SESSION_POINTS
                if best >= floor - 1e-9:  # else even fresh and with a session it would not
                    hopes.append((best, listing.id, known, listing))
        hopes.sort(key=lambda h: (-h[0], h[1]))
        _keep_best(hopes, kept, sessions, query, limit, now)
    return kept


def describe_walking(kept: list[Kept], shown: Mapping[int, ListingSummary], walk: Walk,
                     query: MatchQuery, *, now: datetime) -> list[dict]:
    """The kept listings as a search shows them, best first, with their reasons."""
    results = []
    for score, negated, sittings, _rules in kept:
        summary = shown[-negated]
        metres, minutes = walk[summary.row.venue_id]
        results.append(_describe(summary, metres, minutes, query, sittings, now, score))
    results.sort(key=lambda m: (-m["score"], m["walk_minutes"], m["id"]))
    return results


def _keep_best(hopes: list[Hope], kept: list[Kept], sessions: SessionsIn,
               query: MatchQuery, limit: int, now: datetime) -> None:
    """Fold listings, the best they could score first, into `kept`: a heap of the best `limit`
    so far with the last of them on top. Freshness and sessions are worked out only while a
    listing could still get in, so most of a search's candidates never need them."""
    for best, aid, known, listing in hopes:
        if len(kept) >= limit and best < kept[0][0] - 1e-9:
            return
        timely = timely_points(listing, sessions, query, now)
        if timely is None:
            continue
        points, sittings = timely
        entry = (known + points, -aid, sittings, listing.rules)
        if len(kept) < limit:
            heapq.heappush(kept, entry)
        elif entry[:2] > kept[0][:2]:
            heapq.heapreplace(kept, entry)


def timely_points(listing: Candidate, sessions: SessionsIn, query: MatchQuery,
                  now: datetime) -> tuple[float, list[Sitting]] | None:
    """The points a listing earns for being fresh and having a session in the search's
    window, and those sessions; None when a day or time was asked and it has none there
    (walking and phone or online alike)."""
    sittings = sessions(listing.rules)
    if (query.day or query.time_of_day) and not sittings:
        return None
    return FRESHNESS_POINTS[listing.state(now)] + (SESSION_POINTS if sittings else 0), sittings


def standing_points(listing: Candidate, query: MatchQuery) -> float:
    """The points a listing earns wherever it is: an interest asked about, room for
    newcomers (or none), a welcome connectors found (walking and phone or online alike)."""
    return (INTEREST_POINTS if listing.category in query.interests else 0) + INTAKE_POINTS.get(
        listing.intake, 0) + welcoming_points(listing.welcoming_yes)


def _base_score(minutes: float, query: MatchQuery) -> float:
    return 50.0 * (1 - minutes / max(query.minutes, 1)) + 20


def _describe(summary: ListingSummary, metres: float, minutes: float, query: MatchQuery,
              sittings: list[Sitting], now: datetime, score: float) -> dict:
    """One match as the API shows it, with the reasons behind its place."""
    why: list[str] = [
        f"{math.ceil(minutes)} min walk ({round(metres)} m) at a {query.pace} pace"]
    why.extend(reasons(summary.row, query, sittings))
    data = summary_to_dict(summary, now=now, upcoming=sittings)
    fresh = data["freshness"]
    stale = fresh["state"] in STALE_STATES
    why.append(f"freshness: {fresh['words']}" + (" (ranked lower)" if stale else ""))
    return {
        "id": data["id"], "name": data["name"], "category": data["category"],
        "category_label": data["category_label"], "venue": data["venue"],
        "walk_metres": round(metres), "walk_minutes": round(minutes, 1),
        "next_sessions": data["next_sessions"], "schedule_text": data["schedule_text"],
        "cost": data["cost"], "tags": data["tags"], "freshness": fresh,
        "stale": stale, "score": round(score, 1), "why": why, "estimated": False,
        "intake": data["intake"], "languages": data["languages"],
        "languages_words": data["languages_words"],
    }


def reasons(activity: Activity | Row[Any], query: MatchQuery,
            sittings: list[Sitting]) -> list[str]:
    """Why a listing is in the answer, beyond how far it is: the needs, interests, day, language,
    welcome and room asked about (walking and phone or online matches say the same)."""
    why: list[str] = []
    if query.tag_needs:  # a place need ("near a bus stop") names its stop instead
        labels = ", ".join(vocab.TAG_LABELS[n].lower() for n in query.tag_needs)
        why.append(f"meets every need asked for: {labels}")
    if activity.category in query.interests:
        why.append(f"matches an interest: {vocab.CATEGORY_LABELS[activity.category]}")
    if sittings:
        why.append(f"has a session {when_words(query)}")
    if query.language:
        why.append(f"runs in {LANGUAGES[query.language]}")
    if welcoming := welcoming_words(activity.welcoming_yes):
        why.append(welcoming)
    if activity.intake in INTAKE_LABELS:
        low = activity.intake in NOT_TAKING
        why.append(f"taking newcomers: {INTAKE_LABELS[activity.intake].lower()}"
                   + (" (ranked lower)" if low else ""))
    return why
