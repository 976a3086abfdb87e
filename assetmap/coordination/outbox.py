"""The outbox as people see it: what was not delivered, and retry or cancel it.

Statuses (see `community.outbox`): queued (not tried yet), retry (refused; the scheduler tries
again after a wait that grows: 1, 2, 5, 10, 30, 60 minutes, then hourly), failed (gave up
after about 24 hours), sent, cancelled (by a person).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assetmap.community import outbox as mail
from assetmap.errors import ValidationError
from assetmap.models import OutboxMessage

UNDELIVERED = ("retry", "failed")
WAITING = ("queued", "retry")
STATUS_WORDS = {"queued": "Waiting to be sent", "retry": "Not delivered yet: will try again",
                "failed": "Not delivered: gave up", "sent": "Sent",
                "cancelled": "Cancelled"}
KIND_WORDS = {"organiser-check": "Organiser check", "organiser-reminder": "Organiser reminder",
              "freshness-digest": "Weekly digest", "invitation": "Invitation",
              "password-reset": "Set-password link"}
MAX_ID = 2**31 - 1


def undelivered_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status.in_(UNDELIVERED))) or 0


@dataclass(frozen=True)
class OutboxView:
    undelivered: list[OutboxMessage]
    waiting: list[OutboxMessage]
    recent: list[OutboxMessage]


def load(session: Session, *, limit: int = 50) -> OutboxView:
    def rows(*statuses: str, newest: bool = False) -> list[OutboxMessage]:
        order = OutboxMessage.id.desc() if newest else OutboxMessage.id
        return list(session.scalars(select(OutboxMessage).where(
            OutboxMessage.status.in_(statuses)).order_by(order).limit(limit)))

    return OutboxView(rows(*UNDELIVERED), rows("queued"), rows("sent", "cancelled", newest=True))


def get(session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id) if 0 < message_id <= MAX_ID else None
    if message is None:
        raise ValidationError("message", "there is no such message; reload the page")
    return message


def retry(session: Session, message: OutboxMessage, config: Mapping, *, now: datetime) -> str:
    """Try again now (also after the scheduler gave up); says what happened."""
    if message.status == "sent":
        return f"The message to {message.to_address} was already sent; nothing to retry."
    if message.status == "failed":
        message.attempts = 0  # a person asked: give it a fresh day of scheduled tries
    mail.send(session, message, config)
    session.flush()
    return mail.delivery_words(message, now=now)


def cancel(session: Session, message: OutboxMessage, *, now: datetime) -> str:
    if message.status == "sent":
        return f"The message to {message.to_address} was already sent; it cannot be cancelled."
    if message.status == "cancelled":
        return f"The message to {message.to_address} was already cancelled."
    message.status = "cancelled"
    session.flush()
    return mail.delivery_words(message, now=now)


def summarise(messages: list[OutboxMessage], *, sent_words: str, now: datetime) -> str:
    """What happened to a batch, honestly: how many went, how many wait and until when.

    `sent_words` says what went, with {n} and {s} ("" or "s") for the count, e.g.
    "Reminder sent to the organisers of {n} listing{s}."."""
    sent = [m for m in messages if m.status == "sent"]
    waiting = [m for m in messages if m.status != "sent"]
    parts = []
    if sent or not waiting:
        parts.append(sent_words.format(n=len(sent), s="" if len(sent) == 1 else "s"))
    if waiting:
        reasons = sorted({mail.reason(m) for m in waiting if m.status == "retry"})
        at = min(mail.next_try(m, now) for m in waiting).strftime("%H:%M")
        n = len(waiting)
        if reasons:
            parts.append(f"{n} {'message' if n == 1 else 'messages'} queued, not sent: "
                         f"{'; '.join(reasons)}. It will retry at {at} UTC; see Messages.")
        else:
            parts.append(f"{n} {'message' if n == 1 else 'messages'} queued; the scheduler "
                         f"will send {'it' if n == 1 else 'them'} by {at} UTC.")
    return " ".join(parts)
