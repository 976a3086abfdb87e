"""Script and HTML typed into any field stays text: in the queue, on the map's data, in
e-mails and in exports. Every form needs its CSRF token."""

from __future__ import annotations

import csv
import io
import json

import lxml.html
from sqlalchemy import select

from assetmap.models import Activity, ReviewItem, Suggestion
from tests.community.conftest import form_tokens, valid_api, valid_form
from tests.conftest import csrf_token

NASTY = "<script>alert(1)</script><img src=x onerror=alert(2)>${alert(3)}\"'&amp;"
NASTY_EMAIL = "<b>x</b>@example.org"
NASTY_URL = "https://example.org/<script>alert(4)</script>"
TEXT_FIELDS = ("name", "description", "venue_name", "address", "contact_name", "notes",
               "suggester_name")


def _nasty_suggestion(client) -> str:
    payload = valid_api(**{f: f"{f}:{NASTY}" for f in TEXT_FIELDS},
                        cost=f"small fee ({NASTY})", contact_email=NASTY_EMAIL,
                        contact_url=NASTY_URL, suggester_contact=NASTY_EMAIL,
                        contact_consent=True)
    response = client.post("/api/v1/suggestions", json=payload)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["reference"]


def _assert_inert(html: str) -> None:
    """No payload became markup: only the app's own script tags, and no injected image."""
    doc = lxml.html.fromstring(html)
    for script in doc.iter("script"):
        assert script.get("src", "").startswith("/static/"), lxml.html.tostring(script)
    assert not doc.xpath("//img"), "an <img> was injected"
    assert not doc.xpath("//*[@onerror]")
    assert not doc.xpath('//b[text()="x"]')


def test_payloads_are_text_in_the_queue(client, login, session):
    reference = _nasty_suggestion(client)
    login("coordinator")
    html = client.get("/coordinator/suggestions").get_data(as_text=True)
    _assert_inert(html)
    text = lxml.html.fromstring(html).text_content()
    for field in TEXT_FIELDS:
        assert f"{field}:{NASTY}" in text, field
    assert NASTY_EMAIL in text and NASTY_URL in text
    suggestion = session.scalar(select(Suggestion).where(Suggestion.reference == reference))
    merge = client.get(f"/coordinator/suggestions/{suggestion.id}/merge/1")
    assert merge.status_code == 404  # no listing 1 yet: plain not-found, not a crash


def test_payloads_are_text_on_the_map_and_in_exports(client, login, session, app, runner):
    reference = _nasty_suggestion(client)
    login("coordinator")
    suggestion = session.scalar(select(Suggestion).where(Suggestion.reference == reference))
    token = csrf_token(client, "/coordinator/suggestions")
    assert client.post(f"/coordinator/suggestions/{suggestion.id}/approve",
                       data={"csrf_token": token}).status_code == 303
    session.expire_all()
    activity = session.scalar(select(Activity))
    # The API carries the text exactly; the map builds its popups with textContent.
    props = client.get(f"/api/v1/activities/{activity.id}").get_json()["properties"]
    assert props["name"] == f"name:{NASTY}"
    assert props["venue"]["name"] == f"venue_name:{NASTY}"
    assert props["cost"]["text"] == NASTY
    assert props["contact"]["email"] == NASTY_EMAIL
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    _assert_inert(page)
    assert f"name:{NASTY}" in lxml.html.fromstring(page).text_content()
    # Exports hold the same characters as plain data.
    from assetmap.cli import main

    out = runner.invoke(main, ["export", "--format", "csv"])
    assert out.exit_code == 0, out.output
    (row,) = list(csv.DictReader(io.StringIO(out.output)))
    assert row["name"] == f"name:{NASTY}" and row["description"] == f"description:{NASTY}"
    assert row["venue_name"] == f"venue_name:{NASTY}" and row["contact_email"] == NASTY_EMAIL
    out = runner.invoke(main, ["export", "--format", "geojson"])
    (feature,) = json.loads(out.output)["features"]
    assert feature["properties"]["name"] == f"name:{NASTY}"


def test_payloads_are_plain_text_in_emails(app, session, mailbox):
    from assetmap.community.organiser import send_organiser_check
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    venue = find_or_create_venue(session, name=NASTY, postcode="NW5 2AB",
                                 data_dir=app.config["DATA_DIR"])
    activity = create_activity(session, {
        "name": f"Club\n{NASTY}", "category": "other", "venue_id": venue.id,
        "contact_name": NASTY, "contact_email": "organiser@example.org"}, SYSTEM)
    send_organiser_check(session, activity, app.config)
    session.commit()
    (email,) = mailbox.wait_for()
    assert not email.is_multipart() and email.get_content_type() == "text/plain"
    assert email["Subject"] == f"Is your listing still right? Club {NASTY}"  # one line
    body = email.get_content()
    assert NASTY in body and body.count(NASTY) >= 3  # name, where, contact: as typed
    assert "&lt;" not in body  # not HTML-escaped either: it is not HTML


def test_organiser_pages_show_payloads_as_text(app, client, session, mailbox):
    from assetmap.community.organiser import send_organiser_check
    from assetmap.listings.changes import SYSTEM, create_activity

    activity = create_activity(session, {"name": NASTY, "category": "other",
                                         "description": NASTY,
                                         "contact_email": "o@example.org"}, SYSTEM)
    send_organiser_check(session, activity, app.config)
    session.commit()
    link = mailbox.wait_for()[0].get_content().split("/organiser/check?token=")[1].split()[0]
    for path in ("check", "changes", "stopped"):
        html = client.get(f"/organiser/{path}?token={link}").get_data(as_text=True)
        _assert_inert(html)
        assert NASTY in lxml.html.fromstring(html).text_content()


def test_payload_in_a_rejected_field_is_shown_back_as_text(client):
    data = valid_form(postcode=NASTY, name=NASTY) | form_tokens(client)
    response = client.post("/suggest", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    _assert_inert(html)
    doc = lxml.html.fromstring(html)
    assert doc.xpath('//input[@name="name"]')[0].get("value") == NASTY
    assert doc.xpath('//input[@name="postcode"]')[0].get("value") == NASTY


def test_review_payloads_from_others_are_text(client, login, session, lunch_club):
    session.add(ReviewItem(kind="report-closed", activity_id=lunch_club, raised_by=NASTY,
                           payload={"note": NASTY, NASTY: [NASTY]}))
    session.commit()
    login("coordinator")
    html = client.get("/coordinator/suggestions").get_data(as_text=True)
    _assert_inert(html)
    assert lxml.html.fromstring(html).text_content().count(NASTY) >= 3


def test_every_form_needs_its_csrf_token(client, login):
    login("coordinator")
    for path in ("/suggest", "/coordinator/suggestions/1/approve",
                 "/coordinator/suggestions/1/reject", "/coordinator/suggestions/1/merge/1",
                 "/coordinator/review/1", "/coordinator/organiser-check", "/organiser/confirm",
                 "/organiser/changes", "/organiser/stopped"):
        response = client.post(path, data={"reason": "x", "action": "resolve", "token": "t"})
        assert response.status_code == 400, path
        assert "csrf_token" in response.get_data(as_text=True), path
