"""Phone and online listings: found by the area they serve, not by a walk.

A search's origin is placed in the wards and borough that contain it (`held_areas`);
a listing run by phone or online appears when its service area is one of those, or
"anywhere". The same needs, day, time, cost, newcomers and language filters apply as to
listings with a venue. The list is short by nature (a borough has dozens, not thousands), so
it is filtered and ordered from the listings held in memory (`assetmap.matching.candidates`);
what is shown is read set-wise for the listings that made the list.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from assetmap.listings.query import ListingSummary
from assetmap.listings.serialize import summary_to_dict
from assetmap.listings.service_area import MODE_WORDS, area_words
from assetmap.matching.candidates import Candidate, CandidateIndex, Wanted
from assetmap.matching.rank import (
    STALE_STATES,
    MatchQuery,
    SessionsIn,
    reasons,
    standing_points,
    timely_points,
)
from assetmap.models.changes import Tokens
from assetmap.places.area_index import ANYWHERE, area_names, origin_areas, serves
from assetmap.schedule import Session as Sitting

#: The areas a search's origin lies in: code -> name.
Here = dict[str, str]

MAX_REMOTE = 50
#: A phone or online listing kept for the answer: its score, the listing, its sessions in
#: the window.
RemoteKept = tuple[float, Candidate, list[Sitting]]


def rank_remote(session: Session, query: MatchQuery, listed: CandidateIndex, wants: Wanted,
                sessions: SessionsIn, tokens: Tokens, *, now: datetime,
                limit: int = MAX_REMOTE) -> tuple[list[RemoteKept], Here]:
    """Phone and online listings serving the search's origin, best first, and the areas the
    origin lies in (what is shown of them is read with the walking list's, by the caller)."""
    here = origin_areas(session, query.lat, query.lon, tokens)
    codes = set(here)
    # No travel, so "near a bus stop" asks nothing of them (`wants` holds only tag needs).
    serving = [listing for listing in listed.remote
               if serves(listing.service_area, codes) and wants.accepts(listing)]
    found: list[RemoteKept] = []
    for row in serving:
        timely = timely_points(row, sessions, query, now)
        if timely is None:
            continue
        points, sittings = timely
        found.append((points + standing_points(row, query), row, sittings))
    found.sort(key=lambda f: (-f[0], (f[1].name or "").lower(), f[1].id))
    return found[:limit], here


def describe_remote(session: Session, found: list[RemoteKept], here: Here,
                    shown: Mapping[int, ListingSummary], query: MatchQuery, tokens: Tokens,
                    *, now: datetime) -> list[dict]:
    """The ranked phone and online listings as a search shows them, with reasons."""
    names = area_names(session, {c for _s, row, _x in found for c in row.service_area or ()},
                       tokens)
    return [_describe(shown[row.id], sittings, score, query, here, names, now)
            for score, row, sittings in found]


def _describe(summary: ListingSummary, sittings: list[Sitting], score: float,
              query: MatchQuery, here: Here, names: dict[str, str],
              now: datetime) -> dict:
    listing = summary.row
    data = summary_to_dict(summary, now=now, upcoming=sittings)
    area = listing.service_area or []
    if area == [ANYWHERE]:
        where = "serves anyone, anywhere"
    else:
        inside = [here[c] for c in area if c in here]
        where = f"serves {', '.join(inside)}" if inside else "serves this area"
    why = [f"runs {MODE_WORDS[listing.mode]}; {where}"]
    why.extend(reasons(listing, query, sittings))
    fresh = data["freshness"]
    stale = fresh["state"] in STALE_STATES
    why.append(f"freshness: {fresh['words']}" + (" (ranked lower)" if stale else ""))
    return {
        "id": listing.id, "name": listing.name, "category": listing.category,
        "category_label": data["category_label"], "mode": listing.mode,
        "mode_words": MODE_WORDS[listing.mode].capitalize(),
        "join_how": listing.join_how, "contact": data["contact"],
        "service_area": area, "service_area_words": area_words(area, names),
        "next_sessions": data["next_sessions"],
        "schedule_text": data["schedule_text"], "cost": data["cost"], "tags": data["tags"],
        "freshness": fresh, "stale": stale, "score": round(score, 1), "why": why,
        "intake": data["intake"], "languages": data["languages"],
        "languages_words": data["languages_words"],
    }
