"""A listing's change history in words: field names people use, values as people read them,
and reverting a change (itself a recorded change)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.listings.changes import Actor, history, revert
from assetmap.listings.field_words import field_words, value_words
from assetmap.models import ChangeRecord


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


def entries(session: Session, activity_id: int) -> list[Entry]:
    """Newest first."""
    records = history(session, activity_id)
    return [Entry(r.id, r.changed_at, r.actor_label or r.actor_type, field_words(r.field),
                  value_words(session, r.field, r.old_value),
                  value_words(session, r.field, r.new_value), r.note, r.reverts_id is not None)
            for r in reversed(records)]


def revert_change(session: Session, change_id: int, actor: Actor) -> tuple[int, str]:
    """Put one field back as it was before `change_id`; (listing id, what happened)."""
    record = revert(session, change_id, actor)
    words = value_words(session, record.field, record.new_value)
    return record.activity_id, (f"{field_words(record.field)} is back to “{words}”. "
                                "The revert is in the history too.")


def change_activity(session: Session, change_id: int) -> int | None:
    return session.scalar(select(ChangeRecord.activity_id).where(ChangeRecord.id == change_id))
