"""Verification events: when a listing was last seen or checked, by whom, and how."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assetmap.models.base import Base, utcnow

if TYPE_CHECKING:
    from assetmap.models.listing import Activity


class VerificationEvent(Base):
    __tablename__ = "verification_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    method: Mapped[str] = mapped_column(String(30))
    actor_type: Mapped[str] = mapped_column(String(20))  # user / source / organiser / ...
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    actor_label: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    # Private notes are for connectors and coordinators; never on public pages or exports.
    note_private: Mapped[bool] = mapped_column(Boolean, default=True)
    judgement: Mapped[dict | None] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    activity: Mapped[Activity] = relationship(back_populates="verifications")


class FreshnessSnapshot(Base):
    """How many live listings were fresh at `taken_at`, for the trend chart: counted by the
    daily job, or (`worked_out`) worked out by it from verification history for a week before
    it first counted (see `coordination.trends`)."""

    __tablename__ = "freshness_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    listings: Mapped[int] = mapped_column(Integer)
    fresh: Mapped[int] = mapped_column(Integer)
    worked_out: Mapped[bool] = mapped_column(Boolean, default=False)
