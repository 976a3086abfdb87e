"""Finding listings: filters shared by the map, the API and exports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.models import Activity, ActivityTag, Venue
from assetmap.spatial import BBox, in_bbox, lat_of, lon_of


@dataclass(frozen=True)
class ActivityFilter:
    bbox: BBox | None = None
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # all must apply
    statuses: tuple[str, ...] = ("active",)

    @classmethod
    def checked(cls, bbox: BBox | None = None, categories: Sequence[str] = (),
                tags: Sequence[str] = (), statuses: Sequence[str] = ()) -> ActivityFilter:
        """A filter from typed values; ValidationError names the bad one and the allowed
        values. No status means active ones; "all" means every status."""
        for c in categories:
            if c not in vocab.CATEGORY_IDS:
                raise ValidationError("category", f"unknown category {c!r}",
                                      allowed=sorted(vocab.CATEGORY_IDS))
        for t in tags:
            if t not in vocab.TAG_IDS:
                raise ValidationError("tag", f"unknown suitability tag {t!r}",
                                      allowed=sorted(vocab.TAG_IDS))
        statuses = tuple(statuses) or ("active",)
        allowed_status = vocab.ACTIVITY_STATUSES + ("all",)
        for s in statuses:
            if s not in allowed_status:
                raise ValidationError("status", f"unknown status {s!r}",
                                      allowed=list(allowed_status))
        if "all" in statuses:
            statuses = vocab.ACTIVITY_STATUSES
        return cls(bbox, tuple(categories), tuple(tags), statuses)


def activities_query(flt: ActivityFilter) -> Select:
    """Activities with their venue's lat/lon, eager-loading what serialisation needs."""
    stmt = (
        select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
        .outerjoin(Venue, Activity.venue_id == Venue.id)
        .options(selectinload(Activity.tag_rows), selectinload(Activity.schedule_rows),
                 selectinload(Activity.venue), selectinload(Activity.organisation),
                 selectinload(Activity.source_links))
        .order_by(Activity.id)
    )
    return filtered(stmt, flt)


def filtered(stmt: Select, flt: ActivityFilter) -> Select:
    """`stmt` (which must join Venue) narrowed by the filter; shared by lists and map queries."""
    stmt = stmt.where(Activity.status.in_(flt.statuses))
    if flt.bbox is not None:
        stmt = stmt.where(in_bbox(Venue.geom, flt.bbox))
    if flt.categories:
        stmt = stmt.where(Activity.category.in_(flt.categories))
    for tag in flt.tags:
        stmt = stmt.where(Activity.id.in_(select(ActivityTag.activity_id)
                                          .where(ActivityTag.tag == tag)))
    return stmt


def find_activities(session: Session, flt: ActivityFilter
                    ) -> Sequence[tuple[Activity, float | None, float | None]]:
    return [(row[0], row[1], row[2]) for row in session.execute(activities_query(flt))]


def activity_with_point(session: Session, activity_id: int
                        ) -> tuple[Activity, float | None, float | None] | None:
    row = session.execute(
        select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
        .outerjoin(Venue, Activity.venue_id == Venue.id)
        .where(Activity.id == activity_id)).first()
    return (row[0], row[1], row[2]) if row else None
