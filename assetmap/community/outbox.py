"""E-mail through an outbox: every message is stored first, then sent over SMTP.

Bodies are plain text only, so nothing a member of the public typed can become markup in
anyone's mail client. The outbox row records each attempt and its result.
"""

from __future__ import annotations

import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.models import OutboxMessage, utcnow

MAX_ATTEMPTS = 5


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
    """Try once; the outbox row says what happened. Never raises for delivery failures."""
    message.attempts += 1
    try:
        _smtp_send(message, config)
    except (OSError, smtplib.SMTPException) as exc:
        message.status = "failed" if message.attempts >= MAX_ATTEMPTS else "retry"
        message.error = f"{type(exc).__name__}: {exc}"[:2000]
        return False
    message.status = "sent"
    message.sent_at = utcnow()
    message.error = None
    return True


def send_pending(session: Session, config: Mapping, *, limit: int = 200) -> tuple[int, int]:
    """Send queued and retryable messages; (sent, failed) counts."""
    pending = session.scalars(select(OutboxMessage).where(
        OutboxMessage.status.in_(("queued", "retry"))).order_by(OutboxMessage.id).limit(limit))
    sent = failed = 0
    for message in pending:
        if send(session, message, config):
            sent += 1
        else:
            failed += 1
    return sent, failed
