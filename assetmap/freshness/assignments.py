"""Checks assigned to a person: what a connector sees as "My checks", and the rule that a
recorded check finishes the assignment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.freshness import due
from assetmap.freshness import queue as fq
from assetmap.freshness.rules import STATE_LABELS
from assetmap.models import Activity, Venue


@dataclass(frozen=True)
class MyCheck:
    activity_id: int
    name: str
    venue: str | None
    due_at: datetime | None
    state: str

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    def due_words(self, now: datetime) -> str:
        if self.due_at is None:
            return "no due date"
        days = (self.due_at.date() - now.date()).days
        on = f"{self.due_at:%d %B %Y}"
        if days < 0:
            return f"overdue since {on}"
        if days == 0:
            return "due today"
        return f"due {on}"


def my_checks(session: Session, user_id: int, *, now: datetime) -> list[MyCheck]:
    """Live listings assigned to `user_id`, most overdue first."""
    rows = session.execute(
        select(Activity.id, Activity.name, Venue.name, Activity.freshness_due_at,
               due.state_column(now))
        .outerjoin(Venue, Venue.id == Activity.venue_id)
        .where(Activity.assigned_user_id == user_id, Activity.status.in_(fq.LIVE_STATUSES))
        .order_by(Activity.freshness_due_at.is_(None), Activity.freshness_due_at, Activity.id))
    return [MyCheck(i, name, venue, due, state) for i, name, venue, due, state in rows]


def finish(activity: Activity, method: str) -> None:
    """A person's check (not a sighting) does what the assignment asked: clear it."""
    if method not in vocab.SIGHTING_METHODS:
        activity.assigned_user_id = None
