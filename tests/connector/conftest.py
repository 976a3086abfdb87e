"""Fixtures for the connector's session: a signed-in connector, the Camden network, and a
postcode in Camden that no venue has (so a test can look for it everywhere afterwards)."""

from __future__ import annotations

import pytest

from tests.conftest import create_listing, csrf_token

# Camden postcode near the demo venues, used by no venue in the demo data.
ORIGIN = "NW1 2DB"


@pytest.fixture
def connector(login) -> str:
    return login("connector")


@pytest.fixture
def listing(app) -> int:
    """One listing with known details (quicker than the whole demo data)."""
    return create_listing(app, {
        "name": "Lunch Club", "category": "lunch-club",
        "description": "A hot two-course lunch and a chat.",
        "schedules": ["Tuesdays 12:00-14:00"], "cost_kind": "amount", "cost_amount": "4",
        "contact_phone": "020 7946 0000", "contact_email": "hello@example.org",
        "tags": ["over-50s", "welcoming-newcomers"]})


def search_ids(html: str) -> list[int]:
    import re

    return [int(x) for x in re.findall(r'<li class="result" id="result-(\d+)"', html)]


@pytest.fixture
def read(app):
    """Run a function in a fresh session: not the `session` fixture, whose app context every
    test client request would then share (and with it Flask-Login's user and the CSRF token)."""
    from assetmap.db import session_scope

    def _read(fn):
        with session_scope(app) as s:
            return fn(s)

    return _read


@pytest.fixture
def second(app, listing):
    """A second connector, signed in on their own client."""
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as s:
        create_user(s, email="second@example.org", role="connector",
                    password="correct horse battery", name="Sam Second")
    other = app.test_client()
    token = csrf_token(other, "/login")
    other.post("/login", data={"email": "second@example.org", "password":
                               "correct horse battery", "csrf_token": token})
    return other
