"""Reminding organisers to check their listing: rounds that escalate after the due date.

A listing's round is its due date; within it the daily job sends level 0 on the due date,
then each later level (FRESHNESS_REMINDER_DAYS), never one already sent. A coordinator's
manual reminder counts as the level the round has reached, so the job does not send the
organiser a second e-mail seconds or days later.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.community.organiser import send_organiser_check
from assetmap.errors import ConfigError
from assetmap.freshness import queue as fq
from assetmap.models import Activity, OutboxMessage
from assetmap.values import chunks

REMINDER_KINDS: tuple[str, ...] = ("organiser-check", "organiser-reminder")


DEFAULT_REMINDER_DAYS: tuple[int, ...] = (0, 91, 182)


def reminder_offsets(config: Mapping) -> tuple[timedelta, ...]:
    """FRESHNESS_REMINDER_DAYS: days after the due date, e.g. "0,91,182"."""
    raw = config.get("FRESHNESS_REMINDER_DAYS") or ",".join(map(str, DEFAULT_REMINDER_DAYS))
    try:
        days = sorted(int(part) for part in str(raw).split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"FRESHNESS_REMINDER_DAYS: {raw!r} is not a list of whole days, "
                          "e.g. '0,91,182'") from None
    if not days or days[0] < 0:
        raise ConfigError("FRESHNESS_REMINDER_DAYS: give at least one day, none negative")
    return tuple(timedelta(days=d) for d in days)


def level_reached(due_at: datetime, when: datetime, offsets: tuple[timedelta, ...]) -> int:
    """The reminder level a round has reached at `when` (-1 before the due date)."""
    return max((i for i, offset in enumerate(offsets) if when >= due_at + offset), default=-1)


def send_reminders(session: Session, config: Mapping, *, now: datetime
                   ) -> tuple[dict[int, int], int]:
    """Remind the organisers of listings that came due; ({level: sent}, failed)."""
    offsets = reminder_offsets(config)
    limit = int(config.get("FRESHNESS_REMINDERS_PER_RUN") or 200)
    candidates = session.execute(
        select(Activity.id, Activity.freshness_due_at)
        .where(Activity.status.in_(fq.LIVE_STATUSES), Activity.freshness_due_at.is_not(None),
               Activity.freshness_due_at <= now - offsets[0],
               Activity.contact_email.is_not(None), Activity.contact_email != "")
        .order_by(Activity.freshness_due_at, Activity.id)).all()
    sent: dict[int, int] = {}
    failed = 0
    for chunk in chunks(candidates):
        if sum(sent.values()) >= limit:
            break
        rounds = _sent_levels(session, [c[0] for c in chunk])
        for activity_id, due_at in chunk:
            level = level_reached(due_at, now, offsets)
            if rounds.get((activity_id, due_at.isoformat()), -1) >= level:
                continue
            activity = session.get(Activity, activity_id)
            if activity is None or not (activity.contact_email or "").strip():
                continue
            message = remind(session, activity, config, level=level, due_at=due_at)
            sent[level] = sent.get(level, 0) + 1
            failed += message.status != "sent"
            if sum(sent.values()) >= limit:
                break
    return sent, failed


def _sent_levels(session: Session, ids: list[int]) -> dict[tuple[int, str], int]:
    """(listing, due date) -> the highest reminder level already sent for that round."""
    out: dict[tuple[int, str], int] = {}
    for activity_id, meta in session.execute(
            select(OutboxMessage.activity_id, OutboxMessage.meta)
            .where(OutboxMessage.activity_id.in_(ids),
                   OutboxMessage.kind.in_(REMINDER_KINDS))):
        due = (meta or {}).get("due_at")
        if due:
            key = (activity_id, due)
            out[key] = max(out.get(key, -1), int(meta.get("reminder_level") or 0),
                           int(meta.get("counts_for_level") or 0))
    return out


def remind(session: Session, activity: Activity, config: Mapping, *, level: int = 0,
           due_at: datetime | None = None, now: datetime | None = None) -> OutboxMessage:
    """Send the organiser their "Is this still right?" link (a reminder from level 1 on),
    noting the round it belongs to. A person's reminder (`now` given) reads as a check but
    counts as the level the round has reached by `now`, so the job does not repeat it.
    ValidationError when the listing has no e-mail."""
    message = send_organiser_check(session, activity, config, reminder_level=level)
    due_at = due_at or activity.freshness_due_at
    counts_for = level
    if now is not None and due_at is not None:
        counts_for = max(level, level_reached(due_at, now, reminder_offsets(config)))
    message.meta = {**(message.meta or {}), "counts_for_level": counts_for,
                    "due_at": due_at.isoformat() if due_at else None}
    return message
