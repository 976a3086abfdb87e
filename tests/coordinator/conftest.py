"""Coordinators' freshness and coverage: a frozen clock, Camden's wards, listings checked at
known dates, and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

#: The frozen "now" of these tests: services get it as `now=`, the app as FRESHNESS_NOW.
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

#: Points inside Camden wards (checked against the ward boundaries in the tests that use them).
KILBURN = (51.5455, -0.1985)
HIGHGATE = (51.5705, -0.1480)
BLOOMSBURY = (51.5215, -0.1290)


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def app(app):
    """The shared app, evaluated as of NOW."""
    app.config["FRESHNESS_NOW"] = NOW
    return app


@pytest.fixture
def wards(app) -> dict[str, int]:
    """Camden's wards (and the borough) loaded; ward name -> area id."""
    from sqlalchemy import select

    from assetmap.db import session_scope
    from assetmap.demo import load_areas
    from assetmap.models import Area

    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])
        return dict(s.execute(select(Area.name, Area.id).where(Area.kind == "ward")).all())


@dataclass
class Made:
    id: int
    name: str


@pytest.fixture
def make_listing(app, wards) -> Callable[..., Made]:
    """A listing at a new venue, created `created` days before NOW, with checks at
    (days before NOW, method) pairs."""
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, Actor, apply_changes, create_activity
    from assetmap.listings.verification import record_verification
    from assetmap.models import Venue
    from assetmap.spatial import point

    def make(name: str, *, checks: tuple[tuple[float, str], ...] = (),
             category: str = "lunch-club", at: tuple[float, float] | None = KILBURN,
             created: float = 900, schedules: tuple[str, ...] = ("Tuesdays 12:00-14:00",),
             email: str | None = "organiser@example.org", phone: str | None = "020 7946 0001",
             status: str = "active", closed_days_ago: float | None = None,
             **fields) -> Made:
        with session_scope(app) as s:
            venue_id = None
            if at is not None:
                venue = Venue(name=f"{name} hall", address="1 High Road, London",
                              postcode="NW6 7AA", geom=point(*at))
                s.add(venue)
                s.flush()
                venue_id = venue.id
            activity = create_activity(s, {
                "name": name, "category": category, "venue_id": venue_id,
                "schedules": list(schedules), "contact_email": email, "contact_phone": phone,
                "cost_kind": "free", "status": status, **fields}, SYSTEM, at=days_ago(created))
            for age, method in checks:
                record_verification(s, activity, method, Actor("user", "tester"),
                                    at=days_ago(age), note="private note, never public")
            if closed_days_ago is not None:
                apply_changes(s, activity, {"possibly_closed": True},
                              Actor("source", "Camden directory"),
                              note="missing from the feed Camden directory for 3 runs",
                              at=days_ago(closed_days_ago))
            return Made(activity.id, name)

    return make


EXPECTED = {"fresh": 2, "due-soon": 1, "stale": 2, "very-stale": 1, "possibly-closed": 1,
            "unknown": 3}


@pytest.fixture
def scenario(make_listing) -> dict[str, int]:
    """Ten live listings (and one ended), each checked so the rules give a known state."""
    made = [
        make_listing("Visited lunch", checks=((30, "connector-visited"),)),
        make_listing("Phoned quiz", checks=((165, "phoned"),), category="bingo"),
        make_listing("Imported choir", checks=((100, "imported"),), at=HIGHGATE,
                     category="singing"),
        make_listing("Old tea dance", checks=((400, "organiser-confirmed"),), at=HIGHGATE,
                     category="tea-dance"),
        make_listing("New walk", at=BLOOMSBURY, created=50, category="walking-group"),
        make_listing("Feed only", checks=((2, "source-seen"),), at=BLOOMSBURY),
        make_listing("Dropped club", checks=((20, "phoned"),), closed_days_ago=5),
        make_listing("Answered club", checks=((10, "phoned"),), closed_days_ago=30),
        make_listing("Paused garden", checks=((300, "phoned"),), at=HIGHGATE, status="paused",
                     category="gardening"),
        make_listing("Ended bingo", checks=((400, "phoned"),), status="ended",
                     category="bingo"),
        make_listing("Phone friends", at=None, category="befriending", mode="phone"),
    ]
    return {m.name: m.id for m in made}


def recompute(app, now: datetime = NOW):
    """Run the job's re-caching step as of `now`."""
    from assetmap.db import session_scope
    from assetmap.freshness import due
    from assetmap.freshness.rules import Rules

    with app.app_context(), session_scope(app) as s:
        return due.recompute(s, now=now, rules=Rules.from_config(app.config))
