"""A listing's change history in words: field names people use, values as people read them,
and reverting a change (itself a recorded change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.listings.changes import Actor, history, revert, revertible
from assetmap.listings.field_words import field_words
from assetmap.models import ChangeRecord, Organisation, Venue
from assetmap.schedule import ScheduleRule, describe_all

EMPTY = "(nothing)"


def value_words(session: Session, field: str, value: Any) -> str:
    if value in (None, "", [], {}):
        return EMPTY
    if field == "venue_id":
        venue = session.get(Venue, int(value))
        return ", ".join(p for p in (venue.name, venue.postcode) if p) if venue else "a venue"
    if field == "organisation_id":
        org = session.get(Organisation, int(value))
        return org.name if org else "an organisation"
    if field == "category":
        return vocab.CATEGORY_LABELS.get(value, str(value))
    if field == "tags" and isinstance(value, list):
        return ", ".join(vocab.TAG_LABELS.get(t, str(t)) for t in value)
    if field == "schedules" and isinstance(value, list):
        try:
            return describe_all(ScheduleRule.from_dict(r) for r in value)
        except (TypeError, ValueError, KeyError):
            return "; ".join(map(str, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Entry:
    change_id: int
    at: datetime
    who: str
    field: str
    before: str
    after: str
    note: str | None
    is_revert: bool
    can_revert: bool  # False for the change that first named the listing: nothing to go back to


def entries(session: Session, activity_id: int) -> list[Entry]:
    """Newest first."""
    records = history(session, activity_id)
    return [Entry(r.id, r.changed_at, r.actor_label or r.actor_type, field_words(r.field),
                  value_words(session, r.field, r.old_value),
                  value_words(session, r.field, r.new_value), r.note, r.reverts_id is not None,
                  revertible(r))
            for r in reversed(records)]


def revert_change(session: Session, change_id: int, actor: Actor) -> tuple[int, str]:
    """Put one field back as it was before `change_id`; (listing id, what happened)."""
    record = revert(session, change_id, actor)
    words = value_words(session, record.field, record.new_value)
    return record.activity_id, (f"{field_words(record.field)} is back to “{words}”. "
                                "The revert is in the history too.")


def change_activity(session: Session, change_id: int) -> int | None:
    return session.scalar(select(ChangeRecord.activity_id).where(ChangeRecord.id == change_id))
