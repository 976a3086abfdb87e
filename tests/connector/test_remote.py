"""Phone and online listings: found by the area they serve, listed apart ("Without
travelling"), filtered like the rest, shortlistable and printed with how to join."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.demo import load_areas, load_demo
from assetmap.listings.changes import SYSTEM, create_activity
from assetmap.models import Activity
from assetmap.places.area_index import origin_areas
from tests.conftest import csrf_token

INSIDE = "NW5 2AB"   # Kentish Town
OUTSIDE = "NW1 2DB"  # another Camden ward
INSIDE_POINT = (51.549222, -0.14068)
OUTSIDE_POINT = (51.52951, -0.127227)


@pytest.fixture
def remote(app) -> dict[str, int]:
    """A phone befriending service for one ward, and an online group for anywhere."""
    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])
        ward = next(code for code, _name in origin_areas(s, *INSIDE_POINT).items()
                    if code.startswith("E05"))
        elsewhere = {c for c in origin_areas(s, *OUTSIDE_POINT) if c.startswith("E05")}
        assert ward not in elsewhere, "the two postcodes must be in different wards"
        phone = create_activity(s, {
            "name": "Telephone Befriending", "category": "befriending", "mode": "phone",
            "service_area": [ward], "schedules": ["Mondays 10:00-16:00"],
            "join_how": "Ring 020 7946 0001, Monday 10am to 4pm", "tags": ["free"],
            "cost_kind": "free"}, SYSTEM).id
        online = create_activity(s, {
            "name": "Online Book Chat", "category": "book-club", "mode": "online",
            "service_area": "anywhere", "schedules": ["Thursdays 19:00-20:00"],
            "join_how": "https://meet.example.org/books"}, SYSTEM).id
    return {"phone": phone, "online": online, "ward": ward}


def _remote(client, postcode: str, extra: str = "") -> list[str]:
    response = client.get(f"/api/v1/match?postcode={postcode}&minutes=10{extra}")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert all(m.get("walk_minutes") is not None for m in body["matches"])
    return [m["name"] for m in body["remote"]]


def test_phone_befriending_appears_inside_its_area_and_not_outside(client, remote):
    # Equally fresh, both with a session this week: by name.
    assert _remote(client, INSIDE) == ["Online Book Chat", "Telephone Befriending"]
    assert _remote(client, OUTSIDE) == ["Online Book Chat"]
    body = client.get(f"/api/v1/match?postcode={INSIDE}").get_json()
    phone = next(m for m in body["remote"] if m["name"] == "Telephone Befriending")
    assert phone["mode"] == "phone" and phone["join_how"].startswith("Ring 020 7946 0001")
    assert "Kentish Town" in phone["service_area_words"]
    assert phone["why"][0].startswith("runs by phone; serves Kentish Town")
    # Phone listings are never in the walking list.
    assert all(m["id"] not in (remote["phone"], remote["online"]) for m in body["matches"])


def test_remote_listings_take_the_same_filters(client, remote):
    assert _remote(client, INSIDE, "&needs=free") == ["Telephone Befriending"]
    assert _remote(client, INSIDE, "&day=thu") == ["Online Book Chat"]
    assert _remote(client, INSIDE, "&day=mon&time=evening") == []
    assert _remote(client, INSIDE, "&free=1") == ["Telephone Befriending"]


def test_a_day_filter_keeps_remote_listings_that_run_daily(app, client, remote):
    # A day filter drops listings whose rules never name the asked-for weekday; a daily
    # rule names none and meets every day.
    with session_scope(app) as s:
        create_activity(s, {
            "name": "Daily Phone Check-in", "category": "befriending", "mode": "phone",
            "service_area": "anywhere", "join_how": "Ring 020 7946 0002",
            "schedules": [{"kind": "daily", "start_time": "23:30"}]}, SYSTEM)
    assert _remote(client, INSIDE, "&day=thu") == ["Daily Phone Check-in", "Online Book Chat"]
    assert _remote(client, INSIDE, "&day=wed") == ["Daily Phone Check-in"]


def test_connector_sets_a_listing_to_phone_with_an_area(app, client, connector, remote,
                                                        session):
    aid = remote["online"]
    token = csrf_token(client, f"/connector/activities/{aid}")
    bad = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "mode": "phone", "service_area": "Atlantis"})
    assert bad.status_code == 400 and "Atlantis" in bad.get_data(as_text=True)
    bad = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "mode": "phone", "service_area": ""})
    assert bad.status_code == 400 and "anywhere" in bad.get_data(as_text=True)
    ok = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "mode": "phone", "service_area": "Kentish Town",
        "join_how": "Ring 020 7946 0002"})
    assert ok.status_code == 302
    session.expire_all()
    activity = session.get(Activity, aid)
    assert (activity.mode, activity.service_area) == ("phone", [remote["ward"]])
    page = client.get(f"/connector/activities/{aid}").get_data(as_text=True)
    assert "Serves</dt><dd>Kentish Town" in page
    assert _remote(client, OUTSIDE) == []


def test_search_page_lists_them_apart_shortlistable_and_the_handout_says_how_to_join(
        client, connector, remote):
    html = client.get(f"/connector?postcode={INSIDE}&minutes=10").get_data(as_text=True)
    section = html[html.index('id="remote-heading"'):]
    assert "Without travelling: 2 by phone or online" in section
    assert f'name="ids" value="{remote["phone"]}" form="handout-form"' in section
    assert "How to join: Ring 020 7946 0001" in section
    token = csrf_token(client, "/connector")
    page = client.post("/connector/handout", data={
        "csrf_token": token, "ids": [str(remote["phone"]), str(remote["online"])],
        "layout": "sheet"}).get_data(as_text=True)
    assert re.search(r"How to join</dt><dd>By phone: <span[^>]*>Ring 020 7946 0001", page)
    assert "Online: <span" in page and "https://meet.example.org/books" in page


def test_cli_lists_them_apart(runner, remote):
    from assetmap.cli import main

    result = runner.invoke(main, ["match", "--postcode", INSIDE, "--minutes", "10"])
    assert result.exit_code == 0, result.output
    assert "Without travelling: 2 by phone or online" in result.output
    assert "By phone  Telephone Befriending" in result.output


def test_combined_sheet_keeps_what_happens_and_the_first_visit(app, client, connector):
    ids = []
    with session_scope(app) as s:
        for n in range(4):
            ids.append(create_activity(s, {
                "name": f"Group {n}", "category": "coffee-morning", "mode": "online",
                "service_area": "anywhere", "description": f"Coffee and a chat number {n}.",
                "first_visit": f"Ask for Sam at the door ({n}).",
                "schedules": ["Fridays 10:00-11:00"]}, SYSTEM).id)
    token = csrf_token(client, "/connector")
    html = client.post("/connector/handout", data={
        "csrf_token": token, "ids": [str(i) for i in ids], "layout": "sheet"}
    ).get_data(as_text=True)
    assert html.count('class="sheet-item"') == 4
    for n in range(4):
        assert f"Coffee and a chat number {n}." in html
        assert f"Ask for Sam at the door ({n})." in html


def test_the_demo_shows_its_phone_listings_without_travelling(app, client, demo):
    """The demo's phone befriending listings have no venue, serve areas around NW5 1TL and
    say how to join; a second load changes nothing."""
    assert demo == 72
    body = client.get("/api/v1/match?postcode=NW5 1TL&minutes=15").get_json()
    phone = [m for m in body["remote"] if m["mode"] == "phone"]
    assert len(phone) == 2
    assert all(m["name"].startswith("Telephone Befriending from ") for m in phone)
    assert all(m["join_how"].startswith("Ring 020 7946 ") for m in phone)
    words = sorted(m["service_area_words"] for m in phone)
    assert "Camden" in words[1] and "Kentish Town" in words[0], words
    assert all(not m["name"].startswith("Telephone") for m in body["matches"])
    with session_scope(app) as s:
        before = {a.id: (a.mode, a.venue_id, a.service_area, a.version)
                  for a in s.query(Activity).filter(Activity.category == "befriending")}
        assert all(v is None and area for _m, v, area, _n in before.values())
        assert load_demo(s, app.config["DATA_DIR"]) == 0
    with session_scope(app) as s:
        assert before == {a.id: (a.mode, a.venue_id, a.service_area, a.version) for a in
                          s.query(Activity).filter(Activity.category == "befriending")}


def test_demo_loaded_before_is_mended_once(app, demo):
    """A demo database from before: its phone listings had a venue and no area."""
    with session_scope(app) as s:
        listings = s.query(Activity).filter(Activity.category == "befriending").all()
        venue = s.scalar(select(Activity.venue_id).where(Activity.venue_id.is_not(None))
                         .limit(1))
        for a in listings:
            a.service_area, a.join_how, a.venue_id = None, None, venue
            a.name = a.name.replace(" from ", " at ")
    with session_scope(app) as s:
        assert load_demo(s, app.config["DATA_DIR"]) == 0
        mended = s.query(Activity).filter(Activity.category == "befriending").all()
        assert all(a.service_area and a.venue_id is None and a.join_how for a in mended)
        assert all(" from " in a.name and " at " not in a.name for a in mended)
        versions = {a.id: a.version for a in mended}
        assert load_demo(s, app.config["DATA_DIR"]) == 0
        assert versions == {a.id: a.version for a in mended}
