"""Organiser links: sent through a real SMTP server, clicked, and refused when they should be."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import lxml.html
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from assetmap.community.organiser import SALT, send_organiser_check
from assetmap.models import (
    Activity,
    ChangeRecord,
    OrganiserLink,
    OutboxMessage,
    ReviewItem,
    VerificationEvent,
    utcnow,
)
from tests.conftest import csrf_token

LINK_RE = re.compile(r"http://\S+/organiser/check\?token=\S+")


def _send(app, activity_id: int, **kwargs) -> OutboxMessage:
    from assetmap.db import session_scope

    with session_scope(app) as s:
        return send_organiser_check(s, s.get(Activity, activity_id), app.config, **kwargs)


def _emailed_link(mailbox, index: int = -1) -> str:
    message = mailbox.wait_for()[index]
    match = LINK_RE.search(message.get_content())
    assert match, message.get_content()
    return match.group(0)


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def _answer(client, link: str, endpoint: str, **data):
    page = client.get(_path(link))
    assert page.status_code == 200, page.get_data(as_text=True)
    token = re.search(r'name="token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    csrf = csrf_token(client, _path(link))
    return client.post(f"/organiser/{endpoint}", data={"csrf_token": csrf, "token": token,
                                                       **data})


def test_link_is_emailed_through_smtp_and_confirms_in_one_click(
        app, client, session, mailbox, lunch_club):
    message = _send(app, lunch_club)
    assert message.status == "sent" and message.sent_at is not None
    (email,) = mailbox.wait_for()
    assert email["To"] == "club@example.org"
    assert email["Subject"] == "Is your listing still right? Tuesday Lunch Club"
    assert email.get_content_type() == "text/plain" and not email.is_multipart()
    body = email.get_content()
    assert "Tuesdays 12:00-14:00" in body and "Busby Place Hall" in body
    link = _emailed_link(mailbox)
    assert link.startswith(app.config["PUBLIC_URL"])
    # Opening the link changes nothing (mail scanners open links).
    page = client.get(_path(link))
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Yes, still running" in page.get_data(as_text=True)
    session.expire_all()
    assert session.get(Activity, lunch_club).last_verified_at is None
    before = client.get(f"/api/v1/activities/{lunch_club}").get_json()
    assert before["properties"]["freshness"]["state"] == "unknown"
    response = _answer(client, link, "confirm")
    assert response.status_code == 200
    assert "still running" in response.get_data(as_text=True)
    session.expire_all()
    event = session.scalar(select(VerificationEvent).where(
        VerificationEvent.activity_id == lunch_club))
    assert event.method == "organiser-confirmed" and event.actor_type == "organiser"
    assert "club@example.org" in event.actor_label
    after = client.get(f"/api/v1/activities/{lunch_club}").get_json()["properties"]
    assert after["freshness"]["state"] == "fresh"
    assert after["freshness"]["last_verified_method"] == "organiser-confirmed"
    link_row = session.scalar(select(OrganiserLink))
    assert link_row.used_for == "confirmed" and link_row.used_at is not None


def test_something_changed_goes_to_moderation(app, client, session, mailbox, lunch_club):
    _send(app, lunch_club)
    link = _emailed_link(mailbox)
    form = lxml.html.fromstring(client.get(_path(link).replace("/check", "/changes"))
                                .get_data(as_text=True))
    values = {i.get("name"): i.get("value") or "" for i in form.xpath("//form//input")}
    values |= {t.get("name"): t.text or "" for t in form.xpath("//form//textarea")}
    assert values["schedule"] == "Tuesdays 12:00-14:00" and values["postcode"] == "NW5 2AB"
    changed = {k: v for k, v in values.items() if k not in ("csrf_token", "token")}
    bad = _answer(client, link, "changes", **(changed | {"schedule": "Wednesdays at noonish",
                                                        "contact_email": "nope"}))
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert 'id="f-schedule-error"' in page and 'id="f-contact_email-error"' in page
    assert 'value="Wednesdays at noonish"' in page  # kept as typed
    nothing = _answer(client, link, "changes", **changed)
    assert nothing.status_code == 400 and 'id="f-message-error"' in nothing.get_data(
        as_text=True)
    good = _answer(client, link, "changes", **(changed | {
        "schedule": "Wednesdays 12:30-14:00", "cost": "£2", "message": "New day"}))
    assert good.status_code == 200
    session.expire_all()
    item = session.scalar(select(ReviewItem))
    assert item.kind == "organiser-changes" and item.status == "open"
    assert set(item.payload["changes"]) == {"schedules", "cost"}
    assert item.payload["message"] == "New day"
    assert session.get(Activity, lunch_club).schedules[0].days == ("TU",)  # not yet applied


def test_stopped_marks_it_for_a_coordinator_and_uses_up_the_link(
        app, client, session, mailbox, lunch_club):
    _send(app, lunch_club)
    link = _emailed_link(mailbox)
    response = _answer(client, link, "stopped", note="Last session was in June")
    assert response.status_code == 200
    session.expire_all()
    activity = session.get(Activity, lunch_club)
    assert activity.possibly_closed and activity.status == "active"
    item = session.scalar(select(ReviewItem))
    assert item.kind == "organiser-stopped" and item.payload["note"] == "Last session was in June"
    change = session.scalar(select(ChangeRecord).where(ChangeRecord.field == "possibly_closed"))
    assert change.actor_type == "organiser"
    # The same link cannot be used again: a clear page, nothing changed.
    again = client.get(_path(link))
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    verifications = session.scalars(select(VerificationEvent)).all()
    assert verifications == []


def test_expired_links_are_refused_and_change_nothing(app, client, session, mailbox,
                                                      lunch_club):
    _send(app, lunch_club)
    link = _emailed_link(mailbox)
    row = session.scalar(select(OrganiserLink))
    row.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    page = client.get(_path(link))
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    # A token signed longer ago than links last is refused by its signature too.

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return super().get_timestamp() - 40 * 86400

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT, signer=LongAgo).dumps(
        {"a": lunch_club, "n": row.nonce})
    assert client.get(f"/organiser/check?token={old}").status_code == 410
    csrf = csrf_token(client, "/suggest")
    response = client.post("/organiser/confirm", data={"csrf_token": csrf,
                                                       "token": link.split("token=")[1]})
    assert response.status_code == 410
    session.expire_all()
    assert session.get(Activity, lunch_club).last_verified_at is None


def test_tampered_links_and_links_for_another_listing_are_refused(
        app, client, session, mailbox, lunch_club):
    from assetmap.listings.changes import SYSTEM, create_activity

    other = create_activity(session, {"name": "Other group", "category": "other",
                                      "contact_email": "other@example.org"}, SYSTEM)
    session.commit()
    _send(app, lunch_club)
    link = _emailed_link(mailbox)
    token = link.split("token=")[1]
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    page = client.get(f"/organiser/check?token={tampered}")
    assert page.status_code == 400 and "not complete" in page.get_data(as_text=True)
    assert client.get("/organiser/check").status_code == 400
    # Correctly signed, but naming another listing than the link was made for.
    nonce = session.scalar(select(OrganiserLink.nonce))
    forged = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=SALT).dumps(
        {"a": other.id, "n": nonce})
    assert client.get(f"/organiser/check?token={forged}").status_code == 400
    csrf = csrf_token(client, "/suggest")
    assert client.post("/organiser/confirm", data={"csrf_token": csrf, "token": forged}
                       ).status_code == 400
    # Signed with another key: not ours.
    foreign = URLSafeTimedSerializer("someone-else", salt=SALT).dumps(
        {"a": lunch_club, "n": nonce})
    assert client.get(f"/organiser/check?token={foreign}").status_code == 400
    session.expire_all()
    assert session.scalars(select(VerificationEvent)).all() == []
    assert session.get(Activity, other.id).possibly_closed is False


def test_answers_need_the_csrf_token(app, client, session, mailbox, lunch_club):
    _send(app, lunch_club)
    token = _emailed_link(mailbox).split("token=")[1]
    for endpoint in ("confirm", "changes", "stopped"):
        response = client.post(f"/organiser/{endpoint}", data={"token": token})
        assert response.status_code == 400 and "csrf" in response.get_data(as_text=True).lower()
    session.expire_all()
    assert session.get(Activity, lunch_club).last_verified_at is None


def test_listing_without_email_cannot_be_sent_a_link(app, session):
    import pytest

    from assetmap.errors import ValidationError
    from assetmap.listings.changes import SYSTEM, create_activity

    activity = create_activity(session, {"name": "No email", "category": "other"}, SYSTEM)
    with pytest.raises(ValidationError) as caught:
        send_organiser_check(session, activity, app.config)
    assert caught.value.field == "contact_email"


def test_failed_delivery_is_recorded_in_the_outbox(app, session, lunch_club):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    message = _send(app, lunch_club)
    assert message.status == "retry" and message.attempts == 1
    assert "Connection" in message.error
    session.expire_all()
    assert session.get(OutboxMessage, message.id).status == "retry"


def test_reminders_say_so(app, mailbox, lunch_club):
    message = _send(app, lunch_club, reminder_level=1)
    assert message.kind == "organiser-reminder" and message.meta["reminder_level"] == 1
    (email,) = mailbox.wait_for()
    assert email["Subject"].startswith("Reminder: ")
    assert "We wrote to you before" in email.get_content()


def test_coordinator_can_send_the_link_from_the_queue(app, client, login, session, mailbox,
                                                       lunch_club):
    login("coordinator")
    token = csrf_token(client, "/coordinator/suggestions")
    response = client.post("/coordinator/organiser-check",
                           data={"csrf_token": token, "activity_id": str(lunch_club)},
                           follow_redirects=True)
    assert response.status_code == 200
    assert "Sent" in response.get_data(as_text=True)
    assert mailbox.wait_for()[0]["To"] == "club@example.org"
    bad = client.post("/coordinator/organiser-check",
                      data={"csrf_token": token, "activity_id": "99999"})
    # Listings are picked by name now (no number to keep); the problem is still said.
    assert bad.status_code == 400 and 'id="send-activity_id-error"' in bad.get_data(as_text=True)


def test_cli_sends_the_link(runner, app, mailbox, lunch_club, monkeypatch):
    from assetmap.cli import main

    monkeypatch.setenv("ASSETMAP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(mailbox.port))
    result = runner.invoke(main, ["organiser", "send", str(lunch_club)])
    assert result.exit_code == 0, result.output
    assert "sent an organiser check" in result.output and "club@example.org" in result.output
    assert _emailed_link(mailbox)
    result = runner.invoke(main, ["organiser", "send", "99999"])
    assert result.exit_code == 1 and "error: no activity with id 99999" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_reports_a_failed_delivery_in_one_line(runner, app, session, lunch_club,
                                                   monkeypatch):
    import socket

    from assetmap.cli import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ASSETMAP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSETMAP_SMTP_PORT", str(port))
    result = runner.invoke(main, ["organiser", "send", str(lunch_club)])
    assert result.exit_code == 1
    assert result.output.startswith("error: could not deliver to club@example.org")
    assert len(result.output.strip().splitlines()) == 1
    session.expire_all()
    (message,) = session.scalars(select(OutboxMessage)).all()
    assert message.status == "retry" and message.kind == "organiser-check"
    assert session.scalar(select(OrganiserLink.activity_id)) == lunch_club
