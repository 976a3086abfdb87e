"""Finding listings: filters shared by the map, the API and exports."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Row, Select, Text, cast, func, select
from sqlalchemy.orm import Session, selectinload

from assetmap import vocab
from assetmap.db import column_rows, is_sqlite, one_of, one_of_param
from assetmap.errors import ValidationError
from assetmap.models import Activity, ActivityTag, ScheduleEntry, Venue
from assetmap.schedule import ScheduleRule, rule_from_json
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


# What a search shows of a listing (assetmap.listings.serialize.summary_to_dict): read as plain
# columns, set-wise, because a search describes up to 200 listings per request and building
# ORM objects with their relationships cost more than the rest of the search together.
SUMMARY_COLUMNS = (
    Activity.id, Activity.name, Activity.category, Activity.mode, Activity.venue_id,
    Activity.cost_kind, Activity.cost_amount, Activity.cost_text, Activity.contact_name,
    Activity.contact_email, Activity.contact_phone, Activity.contact_url, Activity.intake,
    Activity.intake_by, Activity.intake_at, Activity.languages, Activity.interpreter,
    Activity.service_area, Activity.join_how, Activity.welcoming_yes,
    Activity.last_verified_at, Activity.last_verified_method, Activity.last_seen_by_source_at,
    Activity.freshness_state, Activity.freshness_due_at, Activity.possibly_closed,
)
class VenueShown(NamedTuple):
    """A listing's venue as a search shows it (`serialize.venue_to_dict`), read with the
    listing: the venue's columns of these names, then its point."""

    id: int
    name: str
    address: str | None
    postcode: str | None
    address_derived: bool
    location_approximate: bool
    step_free: bool | None
    accessible_toilet: bool | None
    hearing_loop: bool | None
    parking: bool | None
    near_public_transport: bool | None
    wheelchair: str | None
    lat: float
    lon: float


VENUE_COLUMNS = (*(getattr(Venue, name) for name in VenueShown._fields[:-2]),
                 lat_of(Venue.geom), lon_of(Venue.geom))


@dataclass(frozen=True)
class ListingSummary:
    """One listing as a search shows it: its columns, its venue's (with `lat`, `lon`), its
    tags (sorted) and its schedule rules (in order)."""

    row: Row[Any]
    venue: VenueShown | None
    tags: list[str]
    rules: list[ScheduleRule]


def schedule_rules(session: Session, ids: Collection[int] | None
                   ) -> dict[int, list[ScheduleRule]]:
    """Listing id -> its schedule rules in order, for many listings (None: every listing) in
    one query."""
    rules: dict[int, list[ScheduleRule]] = {}
    if ids is not None and not ids:
        return rules
    # As text, so each distinct rule is decoded and parsed once (rule_from_json).
    stmt = (select(ScheduleEntry.activity_id, cast(ScheduleEntry.rule, Text))
            .order_by(ScheduleEntry.activity_id, ScheduleEntry.position))
    if ids is not None:
        stmt = stmt.where(one_of(session, ScheduleEntry.activity_id, ids))
    for activity_id, text in column_rows(session, stmt):
        rules.setdefault(activity_id, []).append(rule_from_json(text))
    return rules


def listing_summaries(session: Session, ids: Collection[int], *,
                      rules: Mapping[int, list[ScheduleRule]] | None = None
                      ) -> dict[int, ListingSummary]:
    """Listing id -> summary, with its venue, in one query (two when the rules are not given:
    `rules` when the caller has read them already)."""
    if not ids:
        return {}
    rows = column_rows(session, _summaries(is_sqlite(session)), {"ids": list(ids)}).all()
    if rules is None:
        rules = schedule_rules(session, ids)
    return {row.id: ListingSummary(
                row, VenueShown._make(row[_FIRST_VENUE_COLUMN:]) if row.venue_id is not None
                else None,
                sorted(row.joined_tags.split(",")) if row.joined_tags else [],
                list(rules.get(row.id, ())))
            for row in rows}


_FIRST_VENUE_COLUMN = len(SUMMARY_COLUMNS) + 1


@functools.cache
def _summaries(sqlite: bool) -> Select:
    """The summaries of the listings whose ids are the parameter `ids`: built once per
    dialect, as every search runs it."""
    # Each listing's tags come in its row, joined by commas (tag ids have none), and so do
    # its venue's columns: round trips fewer for every list a search shows.
    joined = (select(func.aggregate_strings(ActivityTag.tag, ","))
              .where(ActivityTag.activity_id == Activity.id).scalar_subquery())
    return (select(*SUMMARY_COLUMNS, joined.label("joined_tags"),
                   *(column.label(f"venue__{name}") for column, name
                     in zip(VENUE_COLUMNS, VenueShown._fields, strict=True)))
            .select_from(Activity).outerjoin(Venue, Venue.id == Activity.venue_id)
            .where(one_of_param(Activity.id, "ids", sqlite=sqlite)))
