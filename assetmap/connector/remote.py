"""Phone and online listings: found by the area they serve, not by a walk.

A search's origin is placed in the wards and borough that contain it (the `areas` table);
a listing run by phone or online appears when its service area is one of those, or
"anywhere". The same needs, day, time, cost, newcomers and language filters apply as to
listings with a venue. The list is short by nature (a borough has dozens, not thousands), so
it is filtered and ordered in Python after one query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from assetmap.freshness.rules import of_listing
from assetmap.listings.serialize import activity_to_dict
from assetmap.listings.service_area import (
    ANYWHERE,
    MODE_WORDS,
    REMOTE_MODES,
    area_names,
    area_words,
    origin_areas,
    serves,
)
from assetmap.matching.rank import (
    FRESHNESS_POINTS,
    SESSION_POINTS,
    STALE_STATES,
    MatchQuery,
    fits_time,
    reasons,
    search_window,
)
from assetmap.matching.suitability import need_clause, welcoming_points
from assetmap.models import Activity
from assetmap.referral.intake import INTAKE_POINTS, NOT_TAKING, intake_dict
from assetmap.referral.languages import runs_in
from assetmap.schedule import occurrences

MAX_REMOTE = 50










def find_remote(session: Session, query: MatchQuery, *, now: datetime,
                limit: int = MAX_REMOTE) -> list[dict]:
    """Phone and online listings serving the search's origin, best first, with reasons."""
    here = origin_areas(session, query.lat, query.lon)
    stmt = (select(Activity).where(Activity.status == "active",
                                   Activity.mode.in_(REMOTE_MODES),
                                   Activity.service_area.is_not(None))
            .options(selectinload(Activity.tag_rows), selectinload(Activity.schedule_rows),
                     selectinload(Activity.organisation), selectinload(Activity.source_links),
                     selectinload(Activity.venue)))
    for need in query.tag_needs:  # no travel, so "near a bus stop" asks nothing of them
        stmt = stmt.where(need_clause(need))
    if query.free_only:
        stmt = stmt.where(Activity.cost_kind == "free")
    if query.newcomers:
        stmt = stmt.where(or_(Activity.intake.is_(None), Activity.intake.not_in(NOT_TAKING)))
    start, end = search_window(query, now)
    needs_session = bool(query.day or query.time_of_day)
    found = []
    for activity in session.scalars(stmt):
        if not serves(activity.service_area, set(here)):
            continue
        if query.language and not runs_in(activity.languages, query.language):
            continue
        sittings = [s for s in occurrences(activity.schedules, start, end)
                    if fits_time(s, query)]
        if needs_session and not sittings:
            continue
        state = of_listing(activity, now).state
        score = FRESHNESS_POINTS[state] + INTAKE_POINTS.get(activity.intake, 0) + (
            SESSION_POINTS if sittings else 0) + welcoming_points(activity.welcoming_yes) + (
            25 if activity.category in query.interests else 0)
        found.append((score, activity, sittings))
    found.sort(key=lambda f: (-f[0], f[1].name.lower(), f[1].id))
    names = area_names(session, {c for _s, a, _x in found for c in a.service_area or ()})
    return [_describe(a, sittings, score, query, here, names, now)
            for score, a, sittings in found[:limit]]


def _describe(activity: Activity, sittings: list, score: float, query: MatchQuery,
              here: dict[str, str], names: dict[str, str], now: datetime) -> dict:
    data = activity_to_dict(activity, now=now)
    area = activity.service_area or []
    if area == [ANYWHERE]:
        where = "serves anyone, anywhere"
    else:
        inside = [here[c] for c in area if c in here]
        where = f"serves {', '.join(inside)}" if inside else "serves this area"
    why = [f"runs {MODE_WORDS[activity.mode]}; {where}"]
    why.extend(reasons(activity, query, sittings))
    fresh = data["freshness"]
    stale = fresh["state"] in STALE_STATES
    why.append(f"freshness: {fresh['words']}" + (" (ranked lower)" if stale else ""))
    return {
        "id": activity.id, "name": activity.name, "category": activity.category,
        "category_label": data["category_label"], "mode": activity.mode,
        "mode_words": MODE_WORDS[activity.mode].capitalize(),
        "join_how": activity.join_how, "contact": data["contact"],
        "service_area": area, "service_area_words": area_words(area, names),
        "next_sessions": [s.to_dict() for s in sittings[:3]] or data["next_sessions"],
        "schedule_text": data["schedule_text"], "cost": data["cost"], "tags": data["tags"],
        "freshness": fresh, "stale": stale, "score": round(score, 1), "why": why,
        "intake": intake_dict(activity.intake, activity.intake_by, activity.intake_at, now),
        "languages": data["languages"], "languages_words": data["languages_words"],
    }
