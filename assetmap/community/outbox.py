"""E-mail through an outbox: every message is stored first, then sent over SMTP.

Bodies are plain text only, so nothing a member of the public typed can become markup in
anyone's mail client. The outbox row records each attempt and its result.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from assetmap.freshness.due import clock
from assetmap.models import OutboxMessage, utcnow

SEND_EVERY = timedelta(minutes=1)  # the scheduler's outbox job (assetmap.jobs.scheduler)
#: The waits after the first, second, ... refused try; then RETRY_EVERY, until the waits add
#: up to more than GIVE_UP_AFTER. A mail server down for a few minutes or an hour then needs
#: nobody: the message goes when it is back.
RETRY_AFTER = tuple(timedelta(minutes=m) for m in (1, 2, 5, 10, 30, 60))
RETRY_EVERY = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)


def _wait(attempt: int) -> timedelta:
    return RETRY_AFTER[attempt - 1] if attempt <= len(RETRY_AFTER) else RETRY_EVERY


def retry_delay(attempts: int) -> timedelta | None:
    """How long to wait after the `attempts`-th refused try; None: give up (the waits would
    pass GIVE_UP_AFTER, about 29 tries)."""
    if sum((_wait(n) for n in range(1, attempts + 1)), timedelta()) > GIVE_UP_AFTER:
        return None
    return _wait(attempts)


NO_ANSWER = "the mail server did not answer"


def reason(message: OutboxMessage) -> str:
    """The mail server's answer in a few words, without the exception's class name."""
    text = (message.error or "").split(":", 1)[-1].strip()
    if not text or "Connection refused" in text or "Errno 111" in text:
        return NO_ANSWER
    return text[:160]


def trouble(message: OutboxMessage) -> str:
    """What stopped a message, said once: "the mail server did not answer", or "the mail
    server did not accept it (550 no such mailbox)"."""
    why = reason(message)
    if why == NO_ANSWER:
        return why
    return f"the mail server did not accept it ({why})"


def next_try(message: OutboxMessage, now: datetime) -> datetime:
    """When the scheduler will next pick the message up: its next try, to the minute above
    (the job runs every minute), or the next run for a message not tried yet."""
    due = message.next_attempt_at if message.status == "retry" else None
    if due is None or due <= now:
        return now + SEND_EVERY
    rounded = due.replace(second=0, microsecond=0)
    return rounded if rounded == due else rounded + timedelta(minutes=1)


def delivery_words(message: OutboxMessage, *, now: datetime, what: str | None = None) -> str:
    """One honest sentence about where a message is: sent, cancelled, undeliverable, or
    queued (with the server's answer and the time of the next try). `what` names the e-mail
    ("E-mail with the link for ..."); by default, the address it goes to."""
    what = what or f"E-mail to {message.to_address}"
    if message.status == "sent":
        return f"{what} sent."
    if message.status == "cancelled":
        return f"{what} is cancelled; it will not be sent."
    if message.status == "failed":
        return (f"{what} could not be delivered after {message.attempts} tries "
                f"({reason(message)}). Retry it from Messages once the problem is fixed, "
                "or cancel it.")
    at = next_try(message, now).strftime("%H:%M")
    if message.status == "retry":
        return f"{what} is queued: {trouble(message)}; it will be tried again at {at} UTC."
    return f"{what} is queued; it will be sent by {at} UTC."


def queue_message(session: Session, *, kind: str, to: str, subject: str, body: str,
                  activity_id: int | None = None, meta: dict | None = None) -> OutboxMessage:
    message = OutboxMessage(kind=kind, to_address=to.strip(), subject=subject[:300],
                            body_text=body, activity_id=activity_id, meta=meta or {})
    session.add(message)
    session.flush()
    return message


def _smtp_send(message: OutboxMessage, config: Mapping) -> None:
    email = EmailMessage()
    email["From"] = formataddr(("AssetMap", config["MAIL_FROM"]))
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain=config["MAIL_FROM"].rpartition("@")[2] or None)
    email.set_content(message.body_text)
    with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=30) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(email)


def send(session: Session, message: OutboxMessage, config: Mapping) -> bool:
    """Try once; the outbox row says what happened and, if refused, when the next try is.
    Never raises for delivery failures."""
    message.attempts += 1
    try:
        _smtp_send(message, config)
    except (OSError, smtplib.SMTPException) as exc:
        wait = retry_delay(message.attempts)
        message.status = "failed" if wait is None else "retry"
        message.next_attempt_at = None if wait is None else clock(config) + wait
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        return False
    message.status = "sent"
    message.sent_at = utcnow()
    message.next_attempt_at = None
    message.error = None
    return True


def send_pending(session: Session, config: Mapping, *, limit: int = 200) -> tuple[int, int]:
    """Send queued messages and refused ones whose next try has come; (sent, failed)."""
    pending = session.scalars(select(OutboxMessage).where(
        OutboxMessage.status.in_(("queued", "retry")),
        or_(OutboxMessage.next_attempt_at.is_(None),
            OutboxMessage.next_attempt_at <= clock(config)))
        .order_by(OutboxMessage.id).limit(limit))
    sent = failed = 0
    for message in pending:
        if send(session, message, config):
            sent += 1
        else:
            failed += 1
    return sent, failed
