"""Verification events: the evidence that a listing is still right.

A listing's last-verified date and method are derived from its events; they are cached on the
activity row so lists and maps need no aggregate query, and recomputed here only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.freshness import assignments
from assetmap.freshness.due import refresh
from assetmap.listings.changes import Actor
from assetmap.models import Activity, VerificationEvent, utcnow

# A feed merely still listing something is not a human check: it refreshes "last seen by
# source", not "last verified".
SIGHTING_METHODS = vocab.SIGHTING_METHODS


def record_verification(session: Session, activity: Activity, method: str, actor: Actor, *,
                        at: datetime | None = None, note: str | None = None,
                        private: bool = True, judgement: dict | None = None
                        ) -> VerificationEvent:
    if method not in vocab.VERIFICATION_METHODS:
        raise ValidationError("method", f"unknown verification method {method!r}",
                              allowed=list(vocab.VERIFICATION_METHODS))
    at = at or utcnow()
    if at > utcnow():
        raise ValidationError("verified_at", "is in the future")
    event = VerificationEvent(
        activity=activity, verified_at=at, method=method, actor_type=actor.type,
        user_id=actor.user_id, source_id=actor.source_id, actor_label=actor.label,
        note=note, note_private=private, judgement=judgement)
    session.add(event)
    refresh_derived(activity, event)
    assignments.finish(activity, method)
    if method not in SIGHTING_METHODS:  # a check moves the due date: re-cache it now
        refresh(session, activity)
    return event


def refresh_derived(activity: Activity, event: VerificationEvent) -> None:
    """Fold one new event into the cached last-verified / last-seen columns."""
    if event.method in SIGHTING_METHODS:
        if event.method in vocab.DUE_POSTPONING_SIGHTINGS and (
                activity.last_seen_by_source_at is None
                or event.verified_at > activity.last_seen_by_source_at):
            activity.last_seen_by_source_at = event.verified_at
        return
    if activity.last_verified_at is None or event.verified_at >= activity.last_verified_at:
        activity.last_verified_at = event.verified_at
        activity.last_verified_method = event.method
