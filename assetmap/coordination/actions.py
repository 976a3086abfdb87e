"""TODO docstring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import (
    select,
    update,
)
from sqlalchemy.orm import Session

from assetmap.community.reminders import remind
from assetmap.coordination import outbox
from assetmap.errors import NotFound, ValidationError
from assetmap.listings.changes import Actor, apply_changes
from assetmap.listings.verification import record_verification
from assetmap.models import (
    Activity,
    User,
)


def live_listings(session: Session, ids: Iterable[int]) -> list[Activity]:
    """Listings by id for an action; NotFound names the first missing one."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        raise ValidationError("ids", "choose at least one listing")
    found = {a.id: a for a in session.scalars(select(Activity).where(Activity.id.in_(ids)))}
    for activity_id in ids:
        if activity_id not in found:
            raise NotFound(f"there is no listing with id {activity_id}")
    return [found[i] for i in ids]


ACTIONS: dict[str, str] = {
    "phoned": "Checked by phone",
    "remind": "Send the organiser a reminder",
    "close": "Mark closed",
    "assign": "Assign to a connector",
}


def assignable_users(session: Session) -> list[User]:
    """Who listings can be assigned to: active connectors (and coordinators)."""
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(("connector", "coordinator")))
        .order_by(User.role, User.email)))


def apply_action(session: Session, ids: Iterable[int], action: str, *, user: User,
                 config: Mapping, now: datetime, note: str | None = None,
                 assignee: str | None = None) -> str:
    """Carry out a coordinator's action on the chosen listings; what happened, in words."""
    if action not in ACTIONS:
        raise ValidationError("action", f"unknown action {action!r}", allowed=list(ACTIONS))
    note = " ".join((note or "").split())[:2000] or None
    if action == "phoned" and not note:
        raise ValidationError("note", "say what you learned on the phone")
    assignee_id = _assignee(session, assignee) if action == "assign" else None
    listings = live_listings(session, ids)
    actor = Actor("user", user.email, user_id=user.id)
    n = len(listings)
    plural = "listing" if n == 1 else "listings"
    if action == "phoned":
        for activity in listings:
            record_verification(session, activity, "phoned", actor, at=now, note=note)
            if activity.possibly_closed:  # the call answered the closure report
                apply_changes(session, activity, {"possibly_closed": False}, actor,
                              note=f"still running, checked by phone: {note}", at=now)
        return f"{n} {plural} recorded as checked by phone."
    if action == "close":
        for activity in listings:
            apply_changes(session, activity, {"status": "ended", "possibly_closed": False},
                          actor, note=note or "marked closed from the freshness queue", at=now)
        return f"{n} {plural} marked closed (ended); they stay in the history."
    if action == "assign":
        table = Activity.__table__
        session.execute(update(table).where(table.c.id.in_([a.id for a in listings]))
                        .values(assigned_user_id=assignee_id, updated_at=table.c.updated_at))
        session.expire_all()
        if assignee_id is None:
            return f"{n} {plural} no longer assigned to anyone."
        who = session.get(User, assignee_id)
        return f"{n} {plural} assigned to {who.email if who else assignee_id}."
    sent = [a for a in listings if (a.contact_email or "").strip()]
    messages = [remind(session, activity, config, now=now) for activity in sent]
    words = outbox.summarise(messages, now=now,
                             sent_words="Reminder sent to the organisers of {n} listing{s}.")
    if len(sent) < n:
        missing = ", ".join(a.name for a in listings if a not in sent)
        words += f" No contact e-mail for: {missing} (phone them instead)."
    return words


def _assignee(session: Session, raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    allowed = {str(u.id): u for u in assignable_users(session)}
    if raw not in allowed:
        raise ValidationError("assignee", "choose an active connector or coordinator",
                              allowed=[u.email for u in allowed.values()])
    return allowed[raw].id
