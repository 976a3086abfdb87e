"""Hand-offs to groups and searches that found nothing: about listings and wards, never clients.

A hand-off row says "a connector told this listing's organiser someone may come"; it holds the
message as sent (checked for client identifiers first), the organiser's one-click answer and,
later, how it went. An unmet-need row holds only a ward, a date, needs, interests and the day
and time asked for: no postcode, no point, no connector.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetmap.models.base import Base, utcnow


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # A short reference the connector can copy into their own case notes (AssetMap keeps none).
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    message: Mapped[str] = mapped_column(Text)
    session_hint: Mapped[str | None] = mapped_column(String(120))  # "Tue 3 Dec, 12:00"
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    expires_at: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(String(20))  # looking-out / full / not-suitable
    answered_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))  # went-once / still-going / ...
    outcome_at: Mapped[datetime | None]


class UnmetNeed(Base):
    __tablename__ = "unmet_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"),
                                                index=True)
    searched_on: Mapped[date] = mapped_column(Date, index=True)
    needs: Mapped[list] = mapped_column(JSON, default=list)
    interests: Mapped[list] = mapped_column(JSON, default=list)
    day: Mapped[str | None] = mapped_column(String(10))
    time_of_day: Mapped[str | None] = mapped_column(String(10))
