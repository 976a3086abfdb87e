"""Field-level history of every change to a listing: nothing is ever lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from assetmap.models.base import Base, utcnow


class ChangeRecord(Base):
    __tablename__ = "change_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[object | None] = mapped_column(JSON)
    new_value: Mapped[object | None] = mapped_column(JSON)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(20))  # user / source / import / system
    actor_label: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    note: Mapped[str | None] = mapped_column(Text)
    reverts_id: Mapped[int | None] = mapped_column(ForeignKey("change_history.id"))
