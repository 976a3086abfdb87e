"""Feeds AssetMap harvests, their runs, and which listings each feed carries."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from assetmap.models.base import Base, Timestamps, utcnow

if TYPE_CHECKING:
    from assetmap.models.listing import Activity


class Source(Timestamps, Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    url: Mapped[str] = mapped_column(String(1000))
    name: Mapped[str] = mapped_column(String(200))
    every_seconds: Mapped[int] = mapped_column(Integer, default=6 * 3600)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Whether the feed publishes its whole list each run (then misses mean "possibly closed").
    complete_list: Mapped[bool] = mapped_column(Boolean, default=True)
    state: Mapped[dict] = mapped_column(JSON, default=dict)  # e.g. RPDE position
    last_run_at: Mapped[datetime | None]

    runs: Mapped[list[ScrapeRun]] = relationship(
        back_populates="source", order_by="ScrapeRun.started_at.desc()",
        cascade="all, delete-orphan")


class ScrapeRun(Base):
    __tablename__ = "scrape_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"),
                                           index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # ok / failed
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    issues: Mapped[list] = mapped_column(JSON, default=list)

    source: Mapped[Source] = relationship(back_populates="runs")


class SourceLink(Base):
    """One feed's sighting of one listing: (source, external id) -> activity."""

    __tablename__ = "source_links"
    __table_args__ = (UniqueConstraint("source_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(500))
    url: Mapped[str | None] = mapped_column(String(1000))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    missed_runs: Mapped[int] = mapped_column(Integer, default=0)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    fingerprint: Mapped[str | None] = mapped_column(String(64))  # hash of the last record
    # The feed's own "modified" of the last record applied: an older one is a stale replay.
    source_modified: Mapped[datetime | None]
    # Values this source publishes that differ from a person's edit: {field: value}.
    disagreements: Mapped[dict] = mapped_column(JSON, default=dict)

    activity: Mapped[Activity] = relationship(back_populates="source_links")
