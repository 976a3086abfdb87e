"""/coordinator/outbox: undelivered messages shown, retried and cancelled, honestly."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from assetmap.community import outbox as mail
from assetmap.db import session_scope
from assetmap.models import OutboxMessage
from tests.conftest import csrf_token, free_port


def _queue(app, to: str) -> int:
    with session_scope(app) as s:
        message = mail.queue_message(s, kind="organiser-check", to=to, subject="Still right?",
                                     body="Please check.")
        mail.send(s, message, app.config)
        return message.id


def test_refused_then_retried_once_the_server_answers(app, client, login, mailbox):
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # refused: nothing listens there
    message_id = _queue(app, "org@example.org")
    login("coordinator")
    home = client.get("/coordinator/").get_data(as_text=True)
    assert 'id="need-outbox"' in home and '<span class="count">1</span> message not delivered' \
        in home
    page = client.get("/coordinator/outbox").get_data(as_text=True)
    assert "Not delivered (1)" in page and "org@example.org" in page
    assert "the mail server did not answer" in page and "Next try at 12:01 UTC" in page
    token = csrf_token(client, "/coordinator/outbox")
    still = client.post(f"/coordinator/outbox/{message_id}", data={
        "csrf_token": token, "action": "retry"}, follow_redirects=True).get_data(as_text=True)
    assert "E-mail to org@example.org is queued: the mail server did not answer;" in still
    app.config["SMTP_PORT"] = real_port
    done = client.post(f"/coordinator/outbox/{message_id}", data={
        "csrf_token": token, "action": "retry"}, follow_redirects=True).get_data(as_text=True)
    assert "E-mail to org@example.org sent." in done and "Not delivered (0)" in done
    assert mailbox.wait_for(1)[0]["To"] == "org@example.org"


def test_cancel_and_nothing_chosen(app, client, login):
    app.config["SMTP_PORT"] = free_port()
    message_id = _queue(app, "org@example.org")
    login("coordinator")
    token = csrf_token(client, "/coordinator/outbox")
    nothing = client.post(f"/coordinator/outbox/{message_id}", data={"csrf_token": token})
    assert nothing.status_code == 400 and "nothing was chosen" in nothing.get_data(as_text=True)
    page = client.post(f"/coordinator/outbox/{message_id}", data={
        "csrf_token": token, "action": "cancel"}, follow_redirects=True).get_data(as_text=True)
    assert "is cancelled; it will not be sent" in page
    with session_scope(app) as s:
        assert s.scalar(select(OutboxMessage.status)) == "cancelled"
        sent, failed = mail.send_pending(s, app.config)
        assert (sent, failed) == (0, 0)  # the scheduler leaves a cancelled message alone
    missing = client.post("/coordinator/outbox/99999999999", data={
        "csrf_token": token, "action": "cancel"})
    assert missing.status_code == 404  # no message can have that number (ids are checked once)


def test_refused_tries_back_off_and_the_message_goes_when_the_server_is_back(
        app, client, login, mailbox):
    """A mail server down for over two hours needs nobody: the waits grow (1, 2, 5, 10, 30,
    60 minutes, then hourly), the scheduler leaves the message alone until its time, the page
    says that time, and the message goes once the server answers."""
    real_port = app.config["SMTP_PORT"]
    app.config["SMTP_PORT"] = free_port()  # refused: nothing listens there
    message_id = _queue(app, "org@example.org")
    login("coordinator")
    waits = []
    for tries in range(2, 11):
        with session_scope(app) as s:
            due = s.get(OutboxMessage, message_id).next_attempt_at
        waits.append((due - app.config["FRESHNESS_NOW"]) / timedelta(minutes=1))
        app.config["FRESHNESS_NOW"] = due - timedelta(seconds=30)
        if tries == 4:
            page = client.get("/coordinator/outbox").get_data(as_text=True)
            assert f"Next try at {due:%H:%M} UTC" in page and "tried 3 times" in page
        with session_scope(app) as s:
            assert mail.send_pending(s, app.config) == (0, 0)  # not yet
        app.config["FRESHNESS_NOW"] = due
        with session_scope(app) as s:
            assert mail.send_pending(s, app.config) == (0, 1)
    assert waits == [1, 2, 5, 10, 30, 60, 60, 60, 60]
    app.config["SMTP_PORT"] = real_port
    with session_scope(app) as s:
        message = s.get(OutboxMessage, message_id)
        assert (message.status, message.attempts) == ("retry", 10)  # once gave up after 5
        app.config["FRESHNESS_NOW"] = message.next_attempt_at
        assert mail.send_pending(s, app.config) == (1, 0)
        assert (message.status, message.next_attempt_at) == ("sent", None)
    assert mailbox.wait_for(1)[0]["To"] == "org@example.org"


def test_it_gives_up_after_a_day_of_tries(app):
    waits = []
    while (wait := mail.retry_delay(len(waits) + 1)) is not None:
        waits.append(wait)
    assert len(waits) + 1 == 29  # tries, the last about 24 hours after the first
    assert sum(waits, timedelta()) <= mail.GIVE_UP_AFTER < sum(waits, timedelta(hours=1))
    app.config["SMTP_PORT"] = free_port()
    with session_scope(app) as s:
        message = mail.queue_message(s, kind="organiser-check", to="org@example.org",
                                     subject="Still right?", body="Please check.")
        message.attempts = 28
        assert not mail.send(s, message, app.config)
        assert (message.status, message.next_attempt_at) == ("failed", None)
        assert "could not be delivered after 29 tries" in mail.delivery_words(
            message, now=app.config["FRESHNESS_NOW"])


def test_the_page_says_how_it_retries(client, login):
    login("coordinator")
    page = client.get("/coordinator/outbox").get_data(as_text=True)
    assert "after 1, 2, 5, 10, 30 and 60 minutes, then every hour" in page
    assert "up to 5 times" not in page
