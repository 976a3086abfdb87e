"""Fixtures for suggestions, moderation and organiser links: a real SMTP server on 127.0.0.1,
listings to find duplicates of, and a valid form to start from."""

from __future__ import annotations

import re

import pytest

from tests.conftest import csrf_token

STARTED_RE = re.compile(r'name="started" value="([^"]+)"')


@pytest.fixture(autouse=True)
def _no_fill_wait(request):
    """Tests post forms instantly; the tests of the fill-time trap turn it back on."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").config["SUGGEST_MIN_FILL_SECONDS"] = 0


def form_tokens(client) -> dict[str, str]:
    page = client.get("/suggest").get_data(as_text=True)
    started = STARTED_RE.search(page)
    assert started, "no fill-time token on /suggest"
    return {"csrf_token": csrf_token(client, "/suggest"), "started": started.group(1)}


def valid_form(**overrides) -> dict:
    data = {
        "name": "Kentish Town Tuesday Lunch", "category": "lunch-club",
        "description": "Hot two-course lunch, then a quiz.", "mode": "in-person",
        "venue_name": "Kentish Town Community Centre", "address": "17 Busby Place",
        "postcode": "NW5 2AB", "frequency": "weekly", "days": ["TU"], "start_time": "12:00",
        "end_time": "14:00", "cost_kind": "amount", "cost_amount": "3.50", "gender": "any",
        "tags": ["step-free", "drop-in"], "contact_name": "Pat",
        "contact_email": "pat@example.org", "contact_phone": "020 7974 4444",
        "contact_url": "www.example.org",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def valid_api(**overrides) -> dict:
    data = {
        "name": "Kentish Town Tuesday Lunch", "category": "lunch-club",
        "description": "Hot two-course lunch, then a quiz.", "venue_name": "Community Centre",
        "postcode": "NW5 2AB", "schedule": "Tuesdays 12:00-14:00", "cost": "£3.50",
        "tags": ["step-free"], "contact_email": "pat@example.org",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}
