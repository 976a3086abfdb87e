"""The public "Find activities near…" search: the connector's matching (find_matches), shown as
cards sorted by walking time, with nothing private in them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from assetmap.errors import GeocodeError, ValidationError
from assetmap.handout.model import session_words
from assetmap.matching.rank import MatchQuery, Origin, origin_at
from assetmap.matching.search import find_matches
from assetmap.places.addresses import AddressIndex
from assetmap.values import cost_in_words
from assetmap.walking.service import WalkingService

#: How far the public search looks (minutes of walking at a typical pace).
SEARCH_MINUTES = 30
SEARCH_LIMIT = 60


@dataclass
class NearbyResult:
    near: str
    origin: dict
    estimated: bool
    cards: list[dict] = field(default_factory=list)


def when_words(listing: dict) -> str:
    """When a serialised listing next meets, as people say it ("Thursday 3 December, 10:30am
    to 12 noon"); its schedule's own words when no session is coming; else who to ask. The
    public page's cards say it the same way with or without a search."""
    sessions = listing.get("next_sessions") or []
    if sessions:
        return session_words(sessions[0])
    return listing.get("schedule_text") or "Ask the organiser"


def card(match: dict) -> dict:
    """One result as the public page shows it: words, not codes."""
    minutes = match["walk_minutes"]
    return {
        "id": match["id"], "name": match["name"], "category_label": match["category_label"],
        "when": when_words(match),
        "schedule_text": match.get("schedule_text") or "",
        "cost": cost_in_words(match["cost"]),
        "freshness_state": match["freshness"]["state"],
        "freshness_label": match["freshness"]["label"],
        "freshness_words": match["freshness"]["words"],
        "venue": (match.get("venue") or {}).get("name") or "",
        "walk_minutes": max(1, math.ceil(minutes)),
        "walk_metres": match["walk_metres"],
        "estimated": bool(match.get("estimated")),
    }


def find_nearby(session: Session, service: WalkingService, near: str, *, data_dir: Path,
                categories: tuple[str, ...] = (), tags: tuple[str, ...] = (),
                now: datetime, places: AddressIndex | None = None) -> NearbyResult:
    """Activities within a walk of a postcode, nearest first. ValidationError names `near`."""
    text = (near or "").strip()
    if not text:
        raise ValidationError("near", "Enter a postcode or a place, like NW5 1TL or "
                                      "Kentish Town")
    origin, label = _origin(session, text, "near", data_dir=data_dir, places=places)
    query = MatchQuery.checked(origin, minutes=SEARCH_MINUTES, limit=SEARCH_LIMIT, needs=tags,
                               interests=categories)
    result = find_matches(session, service, query, now=now)
    matches = [m for m in result.matches if not categories or m["category"] in categories]
    cards = sorted((card(m) for m in matches), key=lambda c: (c["walk_metres"], c["name"]))
    return NearbyResult(near=label, origin=result.origin,
                        estimated=result.estimated, cards=cards)


def _origin(session: Session, text: str, field: str, *, data_dir: Path,
            places: AddressIndex | None) -> tuple[Origin, str]:
    """A postcode, else a named place of the extract; ValidationError naming `field`."""
    try:
        origin = origin_at(session, data_dir, postcode=text)
        return origin, origin.postcode or text
    except GeocodeError as exc:
        problem = exc.message
    found = places.place(text) if places is not None else None
    if found is None:
        raise ValidationError(field, f"We could not find {text!r} ({problem}). Enter a "
                              "postcode, like NW5 1TL, or a place, like Kentish Town")
    lat, lon, name = found
    return origin_at(session, data_dir, point=(lat, lon)), name


def walk_from(session: Session, service: WalkingService, near: str, lat: float, lon: float, *,
              data_dir: Path, places: AddressIndex | None = None) -> dict:
    """"How to get there": the walk from a postcode to a venue, for the activity page."""
    text = (near or "").strip()
    if not text:
        raise ValidationError("from", "Enter a postcode or a place, like NW5 1TL")
    origin, label = _origin(session, text, "from", data_dir=data_dir, places=places)
    _router, walk = service.route_or_estimate(origin.lat, origin.lon, lat, lon, "typical")
    return {"from": label, "metres": round(walk.metres),
            "minutes": max(1, math.ceil(walk.minutes)), "estimated": walk.estimated,
            "approximate": origin.approximate, "geometry": walk.geometry}
