"""The moderation queue: duplicates side by side, approve, merge field by field, reject, and
review items from connectors and organisers; everything in the history."""

from __future__ import annotations

import html
import re

import lxml.html
import pytest
from sqlalchemy import select

from assetmap.community import moderation
from assetmap.listings.changes import SYSTEM, Actor, create_activity
from assetmap.listings.same_group import name_similarity
from assetmap.listings.venues import find_or_create_venue
from assetmap.models import Activity, ChangeRecord, ReviewItem, Suggestion, VerificationEvent
from tests.community.conftest import valid_api
from tests.conftest import csrf_token


def _suggest(client, **overrides) -> str:
    response = client.post("/api/v1/suggestions", json=valid_api(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reference"]


def _suggestion(session, reference: str) -> Suggestion:
    session.expire_all()
    return session.scalar(select(Suggestion).where(Suggestion.reference == reference))


def _listing(session, name, *, lat, lon, schedule, data_dir, status="active") -> Activity:
    venue = find_or_create_venue(session, name=f"Hall for {name}", lat=lat, lon=lon,
                                 data_dir=data_dir)
    return create_activity(session, {"name": name, "category": "other", "venue_id": venue.id,
                                     "schedules": [schedule], "status": status}, SYSTEM)


# -- likely duplicates -------------------------------------------------------------------

def test_name_similarity():
    assert name_similarity("Tuesday Lunch Club", "tuesday lunch club") == 1
    assert name_similarity("Knit & Natter", "Knit and natter") == 1
    assert name_similarity("Kentish Town Tuesday Lunch", "Tuesday Lunch Club") >= 0.6
    assert name_similarity("Book club", "Lunch club") < 0.6
    assert name_similarity("The", "A") == 0


def test_duplicates_need_a_similar_name_nearby(app, session):
    d = app.config["DATA_DIR"]
    here = (51.5492, -0.1407)
    same = _listing(session, "Tuesday Lunch Club", lat=51.5502, lon=-0.1407,  # ~110 m
                    schedule="Tuesdays 12:00-14:00", data_dir=d)
    same_name_further = _listing(session, "Kentish Town Tuesday Lunch", lat=51.5600,
                                 lon=-0.1407, schedule="Fridays 12:00-13:00",
                                 data_dir=d)  # 1.2 km
    far_same_day = _listing(session, "Lunch Club on Tuesdays", lat=51.5600, lon=-0.1407,
                            schedule="Tuesdays 12:00-13:00", data_dir=d)  # 1.2 km
    very_far = _listing(session, "Kentish Town Tuesday Lunch", lat=51.6000, lon=-0.1407,
                        schedule="Tuesdays 12:00-13:00", data_dir=d)  # 5.6 km
    near_unrelated = _listing(session, "Chess for beginners", lat=51.5493, lon=-0.1407,
                              schedule="Tuesdays 12:00-14:00", data_dir=d)
    session.flush()
    tuesdays = [{"kind": "weekly", "days": ["TU"], "start_time": "12:00"}]
    found = moderation.likely_duplicates(session, name="Kentish Town Tuesday Lunch",
                                         lat=here[0], lon=here[1], schedules=tuesdays)
    assert [dup.activity.id for dup in found] == [same.id, same_name_further.id]
    assert {far_same_day.id, very_far.id, near_unrelated.id}.isdisjoint(
        dup.activity.id for dup in found)
    reasons = found[0].reasons
    assert reasons[0] == "similar name" and re.fullmatch(r"1\d\d m away", reasons[1])
    assert reasons[2] == "same day: Tuesday"
    assert found[1].reasons == ["same name", "1.2 km away"]
    # Not placed (online): a similar name on the same day is enough.
    online = moderation.likely_duplicates(session, name="Lunch club, Tuesdays", lat=None,
                                          lon=None, schedules=tuesdays)
    assert {dup.activity.id for dup in online} >= {same.id, far_same_day.id}
    assert near_unrelated.id not in {dup.activity.id for dup in online}


# -- the queue -----------------------------------------------------------------------------

def test_queue_is_for_coordinators_only(client, login):
    assert client.get("/coordinator/suggestions").status_code == 302  # to sign in
    login("connector")
    assert client.get("/coordinator/suggestions").status_code == 403


def test_queue_shows_each_suggestion_beside_its_likely_duplicate(client, login, lunch_club):
    reference = _suggest(client)
    login("coordinator")
    page = client.get("/coordinator/suggestions").get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    (item,) = doc.xpath('//article[contains(@class, "suggestion")]')
    assert reference in item.text_content()
    suggested = item.xpath('.//section[@class="suggested"]')[0].text_content()
    assert "Tuesdays 12:00-14:00" in suggested and "£3.50" in suggested
    (dup,) = item.xpath('.//div[@class="duplicate"]')
    assert dup.get("data-activity-id") == str(lunch_club)
    assert "Tuesday Lunch Club" in dup.text_content()
    assert "same day: Tuesday" in dup.text_content()
    assert item.xpath(f'.//a[contains(@href, "/merge/{lunch_club}")]')


def test_the_count_is_in_the_coordinators_navigation(client, login, session, lunch_club):
    _suggest(client)
    _suggest(client, name="Another group")
    session.add(ReviewItem(kind="report-closed", activity_id=lunch_club,
                           payload={"note": "Hall is boarded up"}, raised_by="a connector"))
    session.commit()
    assert "nav-queue" not in client.get("/").get_data(as_text=True)
    login("coordinator")
    doc = lxml.html.fromstring(client.get("/").get_data(as_text=True))
    (count,) = doc.xpath('//a[@id="nav-queue"]/span[contains(@class, "nav-count")]')
    assert count.text_content() == "3 waiting"
    assert "none" not in count.get("class")


def test_approve_creates_the_listing_with_history_and_verification(
        client, login, session, app):
    reference = _suggest(client, category=None, name="Camden Knit and Natter",
                         description=None, tags=["drop-in"])
    email = login("coordinator")
    suggestion = _suggestion(session, reference)
    assert suggestion.fields["category"] == "arts-crafts"  # guessed from "knit"
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/suggestions/{suggestion.id}/approve",
                           data={"csrf_token": token, "category": "friendship-group"})
    assert response.status_code == 303
    suggestion = _suggestion(session, reference)
    assert suggestion.status == "approved" and suggestion.decided_by_user_id is not None
    activity = session.get(Activity, suggestion.activity_id)
    assert activity.category == "friendship-group" and activity.status == "active"
    assert activity.venue.postcode == "NW5 2AB" and activity.tags == ["drop-in"]
    assert activity.cost_kind == "amount" and str(activity.cost_amount) == "3.50"
    changes = session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == activity.id)).all()
    assert {c.field for c in changes} >= {"name", "category", "venue_id", "schedules"}
    assert all(c.actor_label == email and c.note == f"from community suggestion {reference}"
               for c in changes)
    (event,) = activity.verifications
    assert event.method == "community-suggested" and reference in event.note
    assert "approved by coordinator" in event.note
    # On the map's data, with the right freshness words.
    feature = client.get(f"/api/v1/activities/{activity.id}").get_json()
    assert feature["properties"]["freshness"]["last_verified_method"] == "community-suggested"
    assert "suggested by the community" in feature["properties"]["freshness"]["words"]
    names = [f["properties"]["name"] for f in client.get("/api/v1/activities").get_json()[
        "features"]]
    assert "Camden Knit and Natter" in names
    # The queue no longer holds it; deciding twice is refused with a message.
    assert reference not in client.get("/coordinator/suggestions").get_data(as_text=True)
    again = client.post(f"/coordinator/suggestions/{suggestion.id}/approve",
                        data={"csrf_token": token}, follow_redirects=True)
    assert "already approved" in again.get_data(as_text=True)
    assert session.scalar(select(Activity.id).where(
        Activity.name == "Camden Knit and Natter", Activity.id != activity.id)) is None


def test_merge_takes_only_the_ticked_fields(client, login, session, lunch_club):
    reference = _suggest(client, contact_email="new@example.org", description="Now with quiz",
                         tags=["drop-in"])
    login("coordinator")
    suggestion = _suggestion(session, reference)
    url = f"/coordinator/suggestions/{suggestion.id}/merge/{lunch_club}"
    page = client.get(url)
    assert page.status_code == 200
    doc = lxml.html.fromstring(page.get_data(as_text=True))
    boxes = {b.get("value"): b for b in doc.xpath('//input[@name="use"]')}
    assert "description" in boxes and boxes["description"].get("checked") is not None
    assert boxes["contact_email"].get("checked") is None  # the listing already has one
    assert boxes["schedules"].get("disabled") is not None  # the same: nothing to take
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "checked": "yes",
                                      "use": ["description", "tags", "cost"]})
    assert response.status_code == 303
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.description == "Now with quiz"
    assert activity.tags == ["drop-in"] and activity.cost_kind == "amount"
    assert activity.contact_email == "club@example.org"
    assert activity.name == "Tuesday Lunch Club"
    merged = session.scalars(select(ChangeRecord).where(
        ChangeRecord.activity_id == lunch_club,
        ChangeRecord.note == f"merged from community suggestion {reference}")).all()
    assert {c.field for c in merged} == {"description", "tags", "cost_kind", "cost_amount"}
    suggestion = _suggestion(session, reference)
    assert suggestion.status == "merged" and suggestion.activity_id == lunch_club
    assert activity.last_verified_method == "community-suggested"


def test_reject_needs_a_reason_and_keeps_it(client, login, session):
    reference = _suggest(client)
    login("coordinator")
    suggestion = _suggestion(session, reference)
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/suggestions/{suggestion.id}/reject",
                           data={"csrf_token": token, "reason": "   "})
    assert response.status_code == 400
    doc = lxml.html.fromstring(response.get_data(as_text=True))
    assert doc.xpath(f'//p[@id="s{suggestion.id}-reason-error"]')
    assert _suggestion(session, reference).status == "pending"
    response = client.post(f"/coordinator/suggestions/{suggestion.id}/reject",
                           data={"csrf_token": token, "reason": "A private party, not open"})
    assert response.status_code == 303
    suggestion = _suggestion(session, reference)
    assert suggestion.status == "rejected"
    assert suggestion.decision_reason == "A private party, not open"
    assert session.scalar(select(Activity.id)) is None


# -- review items ----------------------------------------------------------------------------

def _review(session, kind, activity_id, payload) -> int:
    item = ReviewItem(kind=kind, activity_id=activity_id, payload=payload,
                      raised_by="connector@example.org")
    session.add(item)
    session.commit()
    return item.id


def test_report_closed_appears_in_the_queue_and_can_be_confirmed(
        client, login, session, lunch_club):
    item_id = _review(session, "report-closed", lunch_club, {"reports": [
        {"by": "connector@example.org", "user_id": 4, "reason": "Hall sold"},
        {"by": "another@example.org", "user_id": 5, "reason": None}]})
    other_id = _review(session, "report-closed", lunch_club, {"note": "No one there"})
    login("coordinator")
    page = client.get("/coordinator/suggestions").get_data(as_text=True)
    doc = lxml.html.fromstring(page)
    item = doc.xpath(f'//article[@id="review-{item_id}"]')[0]
    text = item.text_content()
    assert "Reported closed" in text and "Hall sold (connector@example.org)" in text
    assert "no reason given (another@example.org)" in text and "user_id" not in text
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/review/{item_id}",
                           data={"csrf_token": token, "action": "confirm-closed"})
    assert response.status_code == 303
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.status == "ended" and not activity.possibly_closed
    assert session.get(ReviewItem, item_id).status == "resolved"
    assert session.get(ReviewItem, other_id).status == "resolved"  # closed together
    change = session.scalar(select(ChangeRecord).where(
        ChangeRecord.activity_id == lunch_club, ChangeRecord.field == "status")
        .order_by(ChangeRecord.id.desc()))
    assert change.old_value == "active" and change.new_value == "ended"
    assert "closure confirmed" in change.note


def test_report_closed_can_be_dismissed_after_a_check(client, login, session, lunch_club):
    activity = session.get(Activity, lunch_club)
    activity.possibly_closed = True
    item_id = _review(session, "report-closed", lunch_club, {})
    login("coordinator")
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/review/{item_id}", data={
        "csrf_token": token, "action": "still-running", "note": "Phoned Pat: running"})
    assert response.status_code == 303
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.status == "active" and not activity.possibly_closed
    assert activity.last_verified_method == "coordinator-checked"
    event = session.scalar(select(VerificationEvent).where(
        VerificationEvent.activity_id == lunch_club))
    assert event.note == "Phoned Pat: running"


def test_organiser_changes_are_applied_field_by_field(client, login, session, lunch_club, app):
    changes = {"name": "Tuesday Lunch & Quiz Club",
               "schedules": [{"kind": "weekly", "days": ["WE"], "start_time": "12:30",
                              "end_time": "14:00"}],
               "contact_phone": "020 7000 0000"}
    item_id = _review(session, "organiser-changes", lunch_club,
                      {"changes": changes, "message": "We moved to Wednesdays"})
    login("coordinator")
    page = client.get("/coordinator/suggestions").get_data(as_text=True)
    item = lxml.html.fromstring(page).xpath(f'//article[@id="review-{item_id}"]')[0]
    text = item.text_content()
    assert "Wednesdays 12:30-14:00" in text and "Tuesdays 12:00-14:00" in text
    assert "We moved to Wednesdays" in text
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/review/{item_id}", data={
        "csrf_token": token, "action": "apply-changes", "use": []})
    assert response.status_code == 400  # nothing ticked: shown again with the reason
    response = client.post(f"/coordinator/review/{item_id}", data={
        "csrf_token": token, "action": "apply-changes", "use": ["schedules", "contact_phone"]})
    assert response.status_code == 303
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.name == "Tuesday Lunch Club"
    assert [r.days for r in activity.schedules] == [("WE",)]
    assert activity.contact_phone == "020 7000 0000"
    assert activity.last_verified_method == "organiser-confirmed"
    assert session.get(ReviewItem, item_id).status == "resolved"


def test_rejecting_organiser_changes_needs_a_reason(client, login, session, lunch_club):
    item_id = _review(session, "organiser-changes", lunch_club, {"changes": {"name": "X"}})
    login("coordinator")
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post(f"/coordinator/review/{item_id}",
                           data={"csrf_token": token, "action": "reject"})
    assert response.status_code == 400
    assert f'id="r{item_id}-note-error"' in response.get_data(as_text=True)
    response = client.post(f"/coordinator/review/{item_id}",
                           data={"csrf_token": token, "action": "reject", "note": "Typo"})
    assert response.status_code == 303
    session.expire_all()
    assert session.get(ReviewItem, item_id).resolution == "reject: Typo"
    assert session.get(Activity, lunch_club).name == "Tuesday Lunch Club"


def test_unknown_kinds_of_review_item_can_still_be_resolved(client, login, session, lunch_club):
    item_id = _review(session, "source-disagrees", lunch_club, {"field": "cost"})
    login("coordinator")
    token = csrf_token(client, "/coordinator/suggestions")
    assert client.post(f"/coordinator/review/{item_id}", data={
        "csrf_token": token, "action": "confirm-closed"}).status_code == 400
    assert client.post(f"/coordinator/review/{item_id}", data={
        "csrf_token": token, "action": "resolve"}).status_code == 303
    session.expire_all()
    assert session.get(ReviewItem, item_id).status == "resolved"
    assert session.get(Activity, lunch_club).status == "active"


def test_services_can_be_used_without_the_web(app, session, lunch_club):
    """approve() takes any actor: e.g. an admin's script."""
    from assetmap.community.suggestions import Draft, submit

    draft = Draft({"name": "Script group", "category": "other", "schedules": [],
                   "mode": "online"}, None, None, None, None, False)
    suggestion = submit(session, draft, channel="api")
    activity = moderation.approve(session, suggestion, Actor("user", "admin script"),
                                  data_dir=app.config["DATA_DIR"])
    assert activity.mode == "online" and activity.venue_id is None
    assert moderation.pending_count(session) == 0


def _stale_lunch_club(session, lunch_club, *, overdue_days: int | None = None) -> Activity:
    """The lunch club last phoned 250 days ago, or so that it fell due `overdue_days` ago."""
    from datetime import timedelta

    from assetmap.freshness.rules import DEFAULT_RULES
    from assetmap.listings.verification import record_verification
    from assetmap.models import utcnow

    activity = session.get(Activity, lunch_club)
    ago = timedelta(days=250) if overdue_days is None else (
        DEFAULT_RULES.interval_for(activity.category) * DEFAULT_RULES.weight("phoned")
        + timedelta(days=overdue_days))
    record_verification(session, activity, "phoned", Actor("user", "tester"),
                        at=utcnow() - ago, note="still on")
    session.commit()
    assert activity.freshness_due_at < utcnow()
    return activity


def _state(client, activity_id: int) -> str:
    body = client.get(f"/api/v1/activities/{activity_id}").get_json()
    return body["properties"]["freshness"]["state"]


@pytest.mark.parametrize("overdue_days", [None, 17])
def test_an_anonymous_merge_leaves_a_stale_listing_stale(client, login, session, lunch_club,
                                                         overdue_days):
    from assetmap.models import utcnow

    activity = _stale_lunch_club(session, lunch_club, overdue_days=overdue_days)
    due_before = activity.freshness_due_at
    assert _state(client, lunch_club) == "stale"
    reference = _suggest(client, description="Now with quiz")
    login("coordinator")
    suggestion = _suggestion(session, reference)
    url = f"/coordinator/suggestions/{suggestion.id}/merge/{lunch_club}"
    page = client.get(url).get_data(as_text=True)
    assert "I checked the details" in page
    response = client.post(url, data={"csrf_token": csrf_token(client, url),
                                      "use": ["description"]})
    assert response.status_code == 303
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.description == "Now with quiz"
    assert activity.last_verified_method == "phoned"
    # An anonymous sighting is recorded but moves nothing: not even a little closer to fresh.
    assert activity.freshness_due_at == due_before < utcnow()
    assert activity.last_seen_by_source_at is None
    assert _state(client, lunch_club) == "stale"
    methods = session.scalars(select(VerificationEvent.method).where(
        VerificationEvent.activity_id == lunch_club)).all()
    assert sorted(methods) == ["community-sighted", "phoned"]


def test_a_merge_with_the_details_checked_makes_it_fresh(client, login, session, lunch_club):
    _stale_lunch_club(session, lunch_club)
    reference = _suggest(client, description="Now with quiz")
    login("coordinator")
    suggestion = _suggestion(session, reference)
    url = f"/coordinator/suggestions/{suggestion.id}/merge/{lunch_club}"
    client.post(url, data={"csrf_token": csrf_token(client, url), "use": ["description"],
                           "checked": "yes"})
    session.expire_all()
    assert session.get(Activity, lunch_club).last_verified_method == "community-suggested"
    assert _state(client, lunch_club) != "stale"


def test_the_merge_says_what_it_took_in_words_and_never_claims_a_check(
        client, login, session, lunch_club):
    """The flash named columns ("contact_phone, description") and said "listing confirmed"
    for a merge that only counts as a sighting."""
    _stale_lunch_club(session, lunch_club)
    login("coordinator")
    for checked in (False, True):
        reference = _suggest(client, description=f"Now with quiz {checked}",
                             contact_phone="020 7946 0101" if checked else "020 7946 0100")
        suggestion = _suggestion(session, reference)
        url = f"/coordinator/suggestions/{suggestion.id}/merge/{lunch_club}"
        data = {"csrf_token": csrf_token(client, url),
                "use": ["description", "contact_phone"]} | ({"checked": "yes"} if checked else {})
        flash = client.post(url, data=data, follow_redirects=True).get_data(as_text=True)
        flash = html.unescape(flash.split('class="flash"', 1)[1].split("</div>", 1)[0])
        assert f"Merged {reference}" in flash
        assert "Contact phone, What happens" in flash
        assert "contact_phone" not in flash and "description" not in flash
        assert "confirmed" not in flash
        if checked:
            assert "counted as a check of the details" in flash
        else:
            assert "recorded as a sighting" in flash and "does not count as a check" in flash


def test_the_queue_and_merge_page_name_listings_never_number_them(client, login, session,
                                                                   lunch_club):
    reference = _suggest(client)
    login("coordinator")
    queue = html.unescape(client.get("/coordinator/suggestions").get_data(as_text=True))
    suggestion = _suggestion(session, reference)
    merge = html.unescape(client.get(f"/coordinator/suggestions/{suggestion.id}/merge/"
                                     f"{lunch_club}").get_data(as_text=True))
    name = session.get(Activity, lunch_club).name
    assert name in queue and name in merge  # a likely duplicate, by its name
    for page in (queue, merge):
        assert f"listing {lunch_club}" not in page and "(listing " not in page
