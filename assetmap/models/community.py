"""Suggestions from the community, the moderation queue, organiser links and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetmap.models.base import Base, utcnow


class Suggestion(Base):
    """A group someone told us about; plain text only, never interpreted as HTML."""

    __tablename__ = "suggestions"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    # Everything the person typed, as validated listing fields (name, category, schedule...).
    fields: Mapped[dict] = mapped_column(JSON)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    suggester_name: Mapped[str | None] = mapped_column(String(200))
    suggester_contact: Mapped[str | None] = mapped_column(String(320))
    contact_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(20), default="web")  # web / api
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReviewItem(Base):
    """Something a coordinator must confirm: a closure report, an organiser's changes..."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # report-closed / organiser-changes / ...
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    raised_by: Mapped[str | None] = mapped_column(String(200))
    raised_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganiserLink(Base):
    """A personal "is this still right?" link sent to a listing's organiser.

    The link itself is signed; this row makes it single-listing, expiring and revocable,
    and records what it was used for.
    """

    __tablename__ = "organiser_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_for: Mapped[str | None] = mapped_column(String(20))  # confirmed / changed / stopped
    reminder_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 first, 1.. escalations


class OutboxMessage(Base):
    """Every e-mail AssetMap sends, and what happened when it tried."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), index=True)  # organiser-check / digest ...
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    activity_id: Mapped[int | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A refused message waits longer after each try (`community.outbox.retry_delay`).
    next_attempt_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)


class CoverageResult(Base):
    """Share of a ward's walkable streets within N minutes of a fresh, active listing."""

    __tablename__ = "coverage_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"),
                                         index=True)
    category: Mapped[str | None] = mapped_column(String(40))  # None: any category
    minutes: Mapped[int] = mapped_column(Integer)
    street_metres: Mapped[float]
    covered_metres: Mapped[float]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
