"""/coordinator/outbox: undelivered messages shown, retried and cancelled, honestly."""

from __future__ import annotations

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
    assert "E-mail to org@example.org is queued: the mail server did not accept it" in still
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
