"""Hand-offs and unmet needs: a signed-in connector, a listing whose organiser has an e-mail,
Camden's wards, and helpers to make hand-offs at known dates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import create_listing, csrf_token

# A point inside Kilburn ward (checked against the ward boundaries by the tests that use it).
KILBURN = (51.5455, -0.1985)
ANSWER_URL = re.compile(r"http://[^\s]+/group/answer/(\d+)\?token=([\w.\-]+)")


@pytest.fixture
def connector(login) -> str:
    return login("connector")


@pytest.fixture
def listing(app) -> int:
    """A Tuesday lunch club whose organiser has an e-mail address."""
    return create_listing(app, {
        "name": "Lunch Club", "category": "lunch-club",
        "schedules": ["Tuesdays 12:00-14:00"], "cost_kind": "free",
        "contact_email": "lunch@example.org", "tags": ["welcoming-newcomers"]})


@pytest.fixture
def make_listing(app):
    """Another listing at the given point and category."""
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    def make(name: str, category: str, *, at: tuple[float, float] = (51.5366, -0.1885),
             schedules: tuple[str, ...] = ("Tuesdays 12:00-14:00",),
             email: str | None = "group@example.org") -> int:
        with session_scope(app) as s:
            venue = find_or_create_venue(s, name=f"{name} hall", lat=at[0], lon=at[1],
                                         data_dir=app.config["DATA_DIR"])
            return create_activity(s, {
                "name": name, "category": category, "venue_id": venue.id,
                "schedules": list(schedules), "cost_kind": "free",
                "contact_email": email}, SYSTEM).id

    return make


@pytest.fixture
def wards(app) -> dict[str, str]:
    """Camden's wards loaded; ward name -> ward code."""
    from sqlalchemy import select

    from assetmap.db import session_scope
    from assetmap.demo import load_areas
    from assetmap.models import Area

    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])
        return dict(s.execute(select(Area.name, Area.code).where(Area.kind == "ward")).all())


def send(client, activity_id: int, message: str, session: str = "") -> object:
    path = f"/connector/activities/{activity_id}/let-them-know"
    return client.post(path, data={"csrf_token": csrf_token(client, path),
                                   "message": message, "session": session})


def make_handoff(app, activity_id: int, email: str, *, days_ago: float = 0,
                 outcome: str | None = None, answer: str | None = None) -> int:
    """A hand-off by the user with `email`, made `days_ago` days before now (through the
    service, with the outbox; the e-mail fails to send, which the outbox records)."""
    from sqlalchemy import select

    from assetmap.db import session_scope
    from assetmap.handoffs import service
    from assetmap.models import User, utcnow

    with app.app_context(), session_scope(app) as s:
        user = s.scalar(select(User).where(User.email == email))
        now: datetime = utcnow() - timedelta(days=days_ago)
        handoff = service.send_handoff(s, activity_id, user, app.config,
                                       message="They would like a quiet welcome.", now=now)
        if answer:
            service.record_answer(s, handoff, answer, now=now)
        if outcome:
            service.record_outcome(s, handoff.id, user, outcome, now=now)
        return handoff.id
