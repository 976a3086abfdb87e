"""The listing aggregate: organisations, venues, activities, their tags and schedules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship

from assetmap.models.base import Base, Timestamps, point_column
from assetmap.schedule import ScheduleRule

if TYPE_CHECKING:
    from assetmap.models.freshness import VerificationEvent
    from assetmap.models.history import ChangeRecord
    from assetmap.models.sources import SourceLink


class Organisation(Timestamps, Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(60))

    activities: Mapped[list[Activity]] = relationship(back_populates="organisation")


class Venue(Timestamps, Base):
    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    address: Mapped[str | None] = mapped_column(String(500))
    postcode: Mapped[str | None] = mapped_column(String(10), index=True)
    geom = mapped_column(point_column(), nullable=False)
    # True when the point is an outward-code centroid or similar, not the building.
    location_approximate: Mapped[bool] = mapped_column(Boolean, default=False)
    # True when address/postcode were filled from the nearest OpenStreetMap address, not given.
    address_derived: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())
    step_free: Mapped[bool | None] = mapped_column(Boolean)
    accessible_toilet: Mapped[bool | None] = mapped_column(Boolean)
    hearing_loop: Mapped[bool | None] = mapped_column(Boolean)
    parking: Mapped[bool | None] = mapped_column(Boolean)
    near_public_transport: Mapped[bool | None] = mapped_column(Boolean)
    wheelchair: Mapped[str | None] = mapped_column(String(20))  # OSM: yes / limited / no
    kind: Mapped[str | None] = mapped_column(String(80))  # e.g. amenity=library
    opening_hours: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(60))
    osm_ref: Mapped[str | None] = mapped_column(String(40), unique=True)  # "way/123"
    demo: Mapped[bool] = mapped_column(Boolean, default=False)

    activities: Mapped[list[Activity]] = relationship(back_populates="venue")


class Activity(Timestamps, Base):
    """A listing: something a person can go to (or join online / by phone)."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(40), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"),
                                                        index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venues.id"), index=True)
    # online / phone: indexed, as phone and online listings are found by mode and area
    mode: Mapped[str] = mapped_column(String(20), default="in-person", index=True)
    cost_kind: Mapped[str] = mapped_column(String(20), default="unknown")
    cost_amount: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    cost_text: Mapped[str | None] = mapped_column(String(200))
    age_min: Mapped[int | None] = mapped_column(Integer)
    age_max: Mapped[int | None] = mapped_column(Integer)
    gender: Mapped[str] = mapped_column(String(10), default="any")
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    contact_phone: Mapped[str | None] = mapped_column(String(60))
    contact_url: Mapped[str | None] = mapped_column(String(500))
    first_visit: Mapped[str | None] = mapped_column(Text)  # what to expect the first time
    # Taking newcomers (assetmap.referral.intake): the answer, who gave it and when.
    intake: Mapped[str | None] = mapped_column(String(20))
    intake_by: Mapped[str | None] = mapped_column(String(200))
    intake_at: Mapped[datetime | None]
    # Language codes a session runs in (assetmap.referral.languages); None: not said.
    languages: Mapped[list | None] = mapped_column(JSON)
    interpreter: Mapped[bool | None] = mapped_column(Boolean)  # an interpreter can come
    # A phone or online listing serves these area codes (wards, boroughs) or ["anywhere"].
    service_area: Mapped[list | None] = mapped_column(JSON)
    join_how: Mapped[str | None] = mapped_column(Text)  # the number, link and how to join
    # Connectors' visit answers, counted (assetmap.matching.suitability) so ranking reads a
    # column: "welcoming to newcomers? yes" and "accessible as listed? no".
    welcoming_yes: Mapped[int | None] = mapped_column(Integer)
    accessible_no: Mapped[int | None] = mapped_column(Integer)
    # The weekdays its schedule rules can meet on (assetmap.schedule.session_weekdays), kept
    # with them so a search for one day drops the others on a column; None: not worked out.
    session_weekdays: Mapped[int | None] = mapped_column(Integer)
    # Derived from verification events, kept here so lists and maps need no aggregate query.
    last_verified_at: Mapped[datetime | None] = mapped_column(index=True)
    last_verified_method: Mapped[str | None] = mapped_column(String(30))
    last_seen_by_source_at: Mapped[datetime | None]
    # Which fields a person (not a feed) set last: {field: {"by": "user:3", "at": iso}}.
    field_provenance: Mapped[dict] = mapped_column(JSON, default=dict)
    # Cached by the freshness job so queues over 100,000 listings sort on an index.
    freshness_state: Mapped[str | None] = mapped_column(String(20), index=True)
    freshness_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # A person reported it closed, or a feed that lists everything stopped listing it.
    possibly_closed: Mapped[bool] = mapped_column(Boolean, default=False,
                                                  server_default=false())
    # A user id, without a database foreign key (added after SQLite tables existed).
    assigned_user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    organisation: Mapped[Organisation | None] = relationship(back_populates="activities")
    venue: Mapped[Venue | None] = relationship(back_populates="activities")
    tag_rows: Mapped[list[ActivityTag]] = relationship(
        cascade="all, delete-orphan", order_by="ActivityTag.tag")
    schedule_rows: Mapped[list[ScheduleEntry]] = relationship(
        cascade="all, delete-orphan", order_by="ScheduleEntry.position")
    verifications: Mapped[list[VerificationEvent]] = relationship(
        back_populates="activity", cascade="all, delete-orphan",
        order_by="VerificationEvent.verified_at")
    source_links: Mapped[list[SourceLink]] = relationship(
        back_populates="activity", cascade="all, delete-orphan")
    # Write-only: appending history never loads it (see services.listings.apply_changes).
    changes: WriteOnlyMapped[ChangeRecord] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}
    # Matching reads the active listings at the venues within a walk.
    __table_args__ = (Index("ix_activities_venue_status", "venue_id", "status"),)

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]

    @property
    def schedules(self) -> list[ScheduleRule]:
        return [ScheduleRule.from_dict(row.rule) for row in self.schedule_rows]


class ActivityTag(Base):
    __tablename__ = "activity_tags"

    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class ScheduleEntry(Base):
    """One recurrence rule of an activity, stored as ScheduleRule.to_dict()."""

    __tablename__ = "activity_schedules"
    __table_args__ = (UniqueConstraint("activity_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))
    rule: Mapped[dict] = mapped_column(JSON)
