"""Suitability from people who know: venue accessibility meets needs, connectors' visit
answers move the rank or raise a review item, and connectors set category and tags."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assetmap.connector import session as svc
from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, Actor, create_activity
from assetmap.listings.venues import find_or_create_venue
from assetmap.models import Activity, ChangeRecord, ReviewItem, Venue
from tests.conftest import csrf_token

HERE = "lat=51.5343&lon=-0.1389"
JO = Actor("user", "Jo", user_id=None)


@pytest.fixture
def pair(app) -> dict[str, int]:
    """Two like groups near the search point, each in its own room of one building."""
    ids = {}
    with session_scope(app) as s:
        for name in ("Left hall group", "Right hall group"):
            venue = find_or_create_venue(s, name=name.replace(" group", ""), lat=51.5349,
                                         lon=-0.1391, data_dir=app.config["DATA_DIR"])
            ids[name] = create_activity(s, {
                "name": name, "category": "coffee-morning", "venue_id": venue.id,
                "schedules": ["Wednesdays 10:00-12:00"]}, SYSTEM).id
    return ids


def _names(client, extra: str = "") -> list[str]:
    body = client.get(f"/api/v1/match?{HERE}&minutes=10{extra}").get_json()
    return [m["name"] for m in body["matches"]]


def _why(client, name: str) -> list[str]:
    body = client.get(f"/api/v1/match?{HERE}&minutes=10").get_json()
    return next(m["why"] for m in body["matches"] if m["name"] == name)


def test_repeated_welcoming_raises_rank_and_the_why_says_so(app, client, pair, network):
    with session_scope(app) as s:  # both checked, so both are equally fresh
        for aid in pair.values():
            svc.record_check(s, aid, "visited", JO)
    first = _names(client)
    later = first[1]  # whichever ranks second now
    with session_scope(app) as s:
        svc.record_check(s, pair[later], "visited", JO, answers={"welcoming": "yes"})
    assert _names(client) == first  # once is not "repeated"
    assert not any("welcoming" in w for w in _why(client, later))
    with session_scope(app) as s:
        svc.record_check(s, pair[later], "client", JO, answers={"welcoming": "yes"})
    assert _names(client)[0] == later
    assert "connectors found it welcoming to newcomers (2 visits)" in _why(client, later)


def test_repeated_not_accessible_goes_to_the_review_queue_once(app, pair, session):
    aid = pair["Left hall group"]
    with session_scope(app) as s:
        svc.record_check(s, aid, "visited", JO, answers={"accessible": "no"})
        svc.record_check(s, aid, "visited", JO, answers={"accessible": "yes"})
    assert session.scalar(select(ReviewItem).where(ReviewItem.activity_id == aid)) is None
    with session_scope(app) as s:
        svc.record_check(s, aid, "phoned", JO, answers={"accessible": "no"})
        svc.record_check(s, aid, "visited", JO, answers={"accessible": "no"})
    items = session.scalars(select(ReviewItem).where(ReviewItem.activity_id == aid)).all()
    assert [(i.kind, i.status, i.payload["answers"]) for i in items] == [
        ("not-accessible", "open", 3)]


def test_venue_accessibility_meets_the_need_without_a_tag(app, client, pair, network):
    assert _names(client, "&needs=step-free") == []
    with session_scope(app) as s:
        activity = s.get(Activity, pair["Right hall group"])
        s.get(Venue, activity.venue_id).step_free = True
        s.get(Venue, s.get(Activity, pair["Left hall group"]).venue_id).hearing_loop = True
    assert _names(client, "&needs=step-free") == ["Right hall group"]
    assert _names(client, "&needs=hearing-loop") == ["Left hall group"]
    assert _names(client, "&needs=step-free,hearing-loop") == []


def test_connector_sets_category_and_tags_with_history(client, connector, pair, session):
    aid = pair["Left hall group"]
    token = csrf_token(client, f"/connector/activities/{aid}")
    response = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "category": "lunch-club", "tags_shown": "1",
        "tags": ["small-quiet", "complex-needs"]})
    assert response.status_code == 302
    session.expire_all()
    activity = session.get(Activity, aid)
    assert activity.category == "lunch-club"
    assert activity.tags == ["complex-needs", "small-quiet"]
    changed = {c.field for c in session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == aid, ChangeRecord.actor_type == "user"))}
    assert changed == {"category", "tags"}
    assert {"category", "tags"} <= set(activity.field_provenance)
    # Unticking every box clears the tags.
    client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "tags_shown": "1"})
    session.expire_all()
    assert session.get(Activity, aid).tags == []
    bad = client.post(f"/connector/activities/{aid}/referral", data={
        "csrf_token": token, "category": "underwater-basketry"})
    assert bad.status_code == 400 and "Kind of activity" in bad.get_data(as_text=True)
