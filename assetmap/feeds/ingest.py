"""Scraped records into listings: match, merge with field provenance, history.

Rules the people who use AssetMap rely on:
- a record matches its listing by (source, external id); a new record matches a listing from
  another source by similar name, nearby venue and overlapping days, so one group found in two
  feeds is one listing with two sources;
- a field a connector or coordinator edited is never overwritten by a feed: the feed's
  differing value is kept on the source link as "source disagrees" for a coordinator;
- a feed still listing something is a sighting ("last seen by source"), not a verification;
- a withdrawn item ends the listing (history kept) once no other feed carries it;
- a listing a complete feed stops listing is flagged "possibly closed" after repeated misses.

Work is done a page at a time with set-based lookups so memory stays flat as feeds grow.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Row, Select, distinct, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from assetmap.db import bulk_insert
from assetmap.errors import AssetMapError
from assetmap.geo import haversine_m
from assetmap.listings.changes import (
    Actor,
    apply_changes,
    create_activities,
    current_value,
    human_fields,
    jsonable,
    validate_fields,
)
from assetmap.listings.same_group import FEED_LINK, NameMatcher, name_key
from assetmap.listings.venues import SAME_VENUE_METRES, find_or_create_venue, resolve_location
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, Organisation, Source, SourceLink, Venue, VerificationEvent
from assetmap.spatial import BBox, in_bbox, lat_of, lon_of, point
from assetmap.values import chunks
from scrapers.records import ActivityRecord, ParseIssue, VenueRecord

MISSES_BEFORE_POSSIBLY_CLOSED = 3
PAGE_CANDIDATES_MAX = 20_000  # cross-source candidates fetched for a whole page at most


@dataclass
class IngestCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    linked: int = 0  # matched a listing another source already carries
    withdrawn: int = 0
    disagreements: int = 0
    venues: int = 0
    skipped: int = 0
    issues: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "issues"}

    def add(self, other: IngestCounts) -> None:
        for key, value in other.to_dict().items():
            setattr(self, key, getattr(self, key) + value)
        self.issues.extend(other.issues)


def _venue_name(venue: VenueRecord) -> str:
    return (venue.name or venue.address or "Unnamed venue").strip()


def _has_location(venue: VenueRecord) -> bool:
    return venue.lat is not None or bool(venue.postcode)


def record_fields(record: ActivityRecord) -> dict[str, Any]:
    """Listing fields a record carries (venue and organisation are resolved apart)."""
    contact = record.contact
    fields: dict[str, Any] = {
        "name": record.name, "description": record.description, "category": record.category,
        "schedules": list(record.schedules), "cost_kind": record.cost_kind,
        "cost_amount": record.cost_amount, "cost_text": record.cost_text,
        "tags": sorted(record.tags), "age_min": record.age_min, "age_max": record.age_max,
        "gender": record.gender,
        "contact_email": contact.email if contact else None,
        "contact_phone": contact.phone if contact else None,
        "contact_url": (contact.url if contact else None) or record.source_url,
        "mode": "online" if record.online and record.venue is None else "in-person",
    }
    if record.intake:  # a feed that says nothing about places leaves what people said
        fields["intake"] = record.intake
    if record.languages:
        fields["languages"] = list(record.languages)
    return fields


def _unchanged(record: ActivityRecord, fingerprint: str, known: Row) -> bool:
    """Nothing to merge: the same content, an older version replayed, or a repeated tombstone."""
    if record.modified and known.source_modified and record.modified < known.source_modified:
        return True
    if record.deleted:
        return known.withdrawn
    return known.fingerprint == fingerprint and not known.withdrawn


def _distinct_runs(records: list[ActivityRecord]) -> Iterator[list[ActivityRecord]]:
    """Consecutive runs of records with distinct external ids, in feed order, so that an item
    a page lists twice is merged twice (the later version wins) rather than inserted twice."""
    run: list[ActivityRecord] = []
    seen: set[str] = set()
    for record in records:
        if record.external_id in seen:
            yield run
            run, seen = [], set()
        run.append(record)
        seen.add(record.external_id)
    if run:
        yield run


class Ingestor:
    """Merges one source's records into the database, a page at a time."""

    def __init__(self, session: Session, source: Source, *, data_dir: Path,
                 now: datetime) -> None:
        self.session = session
        self.source = source
        self.data_dir = data_dir
        self.now = now
        self.actor = Actor("source", source.name, source_id=source.id)
        # Per-page lookups, filled by _prefetch: venues by lower-cased name with their point,
        # organisations by lower-cased name.
        self._venue_cache: dict[str, list[tuple[Venue, float, float]]] = {}
        self._org_cache: dict[str, Organisation] = {}
        self._orgs_asked: set[str] = set()  # names the page's bulk lookup found or not
        self._page_issues: list[dict] = []
        self._resolved: dict[VenueRecord, Venue | None] = {}
        self._points: dict[int, tuple[float, float]] = {}
        self._points_pending: list[tuple[Venue, float, float]] = []
        self._others_listed = True
        # New listings of the batch, inserted together by _insert_new.
        self._new: list[tuple[ActivityRecord, dict[str, Any], str]] = []
        # Cross-source matching: candidates per venue id, and listings linked this page.
        self._nearby: dict[int, list[tuple[int, str]]] = {}
        self._linked: set[int] = set()

    # -- one page --------------------------------------------------------------------------
    def ingest(self, items: Iterable[ActivityRecord | VenueRecord | ParseIssue]) -> IngestCounts:
        counts = IngestCounts()
        activities: list[ActivityRecord] = []
        for item in items:
            if isinstance(item, ParseIssue):
                counts.issues.append({"level": item.level, "message": item.message,
                                      "external_id": item.external_id})
                counts.skipped += item.level == "skipped"
            elif isinstance(item, VenueRecord):
                if not _has_location(item):
                    counts.issues.append({"level": "skipped", "external_id": item.external_id,
                                          "message": f"venue {item.name!r} has no location"})
                    counts.skipped += 1
                    continue
                try:
                    with self.session.begin_nested():
                        self._venue(item)
                except (AssetMapError, ValueError) as exc:
                    counts.issues.append({"level": "skipped", "message": str(exc),
                                          "external_id": item.external_id})
                    counts.skipped += 1
                    continue
                counts.venues += 1
            else:
                activities.append(item)
        for batch in _distinct_runs(activities):
            self._ingest_activities(batch, counts)
        counts.issues.extend(self._page_issues)
        self._page_issues = []
        return counts

    def _ingest_activities(self, records: list[ActivityRecord], counts: IngestCounts) -> None:
        """Records with distinct external ids: most of a re-run is unchanged and costs two
        bulk UPDATEs; the rest is merged, new listings inserted set-wise."""
        known = self._known([r.external_id for r in records])
        sighted: list[tuple[int, int]] = []
        work: list[tuple[ActivityRecord, str]] = []
        for record in records:
            fingerprint = record.fingerprint()
            state = known.get(record.external_id)
            if state is not None and _unchanged(record, fingerprint, state):
                sighted.append((state.id, state.activity_id))
            else:
                work.append((record, fingerprint))
        counts.unchanged += len(sighted)
        if work:
            linked = [r.external_id for r, _ in work if r.external_id in known]
            links = self._links(linked)
            try:
                # Fast path: the whole batch in one savepoint, venues and organisations looked
                # up in bulk, new listings inserted in a few set-based statements.
                with self.session.begin_nested():
                    self._prefetch(work, links)
                    with self.session.no_autoflush:
                        outcomes = [(r, self._activity(r, fp, links.get(r.external_id)))
                                    for r, fp in work]
                    self._insert_new()
            except (AssetMapError, ValueError, SQLAlchemyError):
                # One bad record spoils a batch: redo it a record at a time so that only the
                # bad one is skipped (and reported).
                self._forget_page()
                links = self._links(linked)
                outcomes = []
                for record, fingerprint in work:
                    try:
                        with self.session.begin_nested():
                            outcome = self._activity(record, fingerprint,
                                                     links.get(record.external_id))
                            self._insert_new()
                    except (AssetMapError, ValueError, SQLAlchemyError) as exc:
                        self._new.clear()
                        counts.skipped += 1
                        counts.issues.append({"level": "skipped", "message": str(exc),
                                              "external_id": record.external_id})
                        continue
                    outcomes.append((record, outcome))
            for record, outcome in outcomes:
                link = links.get(record.external_id)
                if outcome == "unchanged" and link is not None and link.id is not None:
                    sighted.append((link.id, link.activity_id))
                if outcome == "disagreement":
                    counts.disagreements += 1
                    outcome = "updated"
                setattr(counts, outcome, getattr(counts, outcome) + 1)
        self._sighted(sighted)

    def _forget_page(self) -> None:
        self._venue_cache.clear()
        self._org_cache.clear()
        self._orgs_asked.clear()
        self._resolved.clear()
        self._points_pending.clear()
        self._points.clear()
        self._new.clear()
        self._nearby.clear()
        self._linked.clear()

    def _prefetch(self, work: list[tuple[ActivityRecord, str]],
                  links: dict[str, SourceLink]) -> None:
        """Load in a few queries what the batch's records will need one by one."""
        changed = [r for r, _ in work if not r.deleted]
        if any(r.external_id not in links for r in changed):
            self._others_listed = self._another_listing_exists()
        activity_ids = [links[r.external_id].activity_id for r in changed
                        if r.external_id in links]
        if activity_ids:
            self.session.scalars(select(Activity).where(Activity.id.in_(activity_ids)).options(
                selectinload(Activity.tag_rows), selectinload(Activity.schedule_rows),
                selectinload(Activity.source_links))).all()
        names = {r.organisation.name.strip().lower() for r in changed if r.organisation}
        if names:
            for org in self.session.scalars(select(Organisation).where(
                    func.lower(Organisation.name).in_(names))):
                self._org_cache.setdefault(org.name.strip().lower(), org)
            self._orgs_asked |= names  # the rest are new: no need to ask one by one
        venue_names = {_venue_name(r.venue).lower() for r in changed
                       if r.venue and _has_location(r.venue)}
        if venue_names:
            for venue, lat, lon in self.session.execute(
                    select(Venue, lat_of(Venue.geom), lon_of(Venue.geom))
                    .where(func.lower(Venue.name).in_(venue_names))):
                self._venue_cache.setdefault(venue.name.strip().lower(), []).append(
                    (venue, lat, lon))
        with self.session.no_autoflush:
            places = {record.external_id: self._activity_venue(record) for record in changed}
            for record in changed:
                if record.organisation:
                    self._organisation(record)
        self.session.flush()  # new venues and organisations get their ids in one go
        if self._others_listed:
            self._prefetch_nearby({venue.id for external_id, venue in places.items()
                                   if venue is not None and external_id not in links})

    def _another_listing_exists(self) -> bool:
        """Cross-source matching only matters if something not from this feed is listed.

        Two counts over indexes, asked once a page: an anti-join ("a listing without a link
        from this source") probes every listing when there is none, as in a first feed.
        """
        listings = self.session.scalar(select(func.count()).select_from(Activity)) or 0
        ours = self.session.scalar(select(func.count(distinct(SourceLink.activity_id))).where(
            SourceLink.source_id == self.source.id)) or 0
        return listings > ours

    def _known(self, external_ids: list[str]) -> dict[str, Row]:
        """What ingest remembers of each record's last version, without loading objects."""
        return {row.external_id: row for row in self._source_links(
            external_ids, SourceLink.external_id, SourceLink.id, SourceLink.activity_id,
            SourceLink.fingerprint, SourceLink.withdrawn, SourceLink.source_modified)}

    def _links(self, external_ids: list[str]) -> dict[str, SourceLink]:
        return {link.external_id: link
                for (link,) in self._source_links(external_ids, SourceLink)}

    def _source_links(self, external_ids: list[str], *what: Any) -> Iterator[Row]:
        """This source's links for these external ids, asked 500 at a time."""
        for chunk in chunks(external_ids, 500):
            yield from self.session.execute(select(*what).where(
                SourceLink.source_id == self.source.id, SourceLink.external_id.in_(chunk)))

    def new_link(self, activity_id: int, record: ActivityRecord, fingerprint: str) -> dict:
        """The columns of a new source link: this feed now lists `record` as that listing."""
        return {"activity_id": activity_id, "source_id": self.source.id,
                "external_id": record.external_id, "url": record.source_url,
                "first_seen_at": self.now, "last_seen_at": self.now, "missed_runs": 0,
                "withdrawn": False, "fingerprint": fingerprint, "disagreements": {},
                "source_modified": record.modified}

    def _sighted(self, sighted: list[tuple[int, int]]) -> None:
        """A bulk 'still listed' for unchanged records: two UPDATEs, no per-row work."""
        if not sighted:
            return
        link_ids = [link_id for link_id, _ in sighted]
        activity_ids = sorted({activity_id for _, activity_id in sighted})
        self.session.execute(update(SourceLink).where(SourceLink.id.in_(link_ids)).values(
            last_seen_at=self.now, missed_runs=0), execution_options={
            "synchronize_session": False})
        self.session.execute(update(Activity).where(Activity.id.in_(activity_ids)).values(
            last_seen_by_source_at=self.now), execution_options={
            "synchronize_session": False})

    # -- one record ------------------------------------------------------------------------
    def _activity(self, record: ActivityRecord, fingerprint: str,
                  link: SourceLink | None) -> str:
        if (link is not None and record.modified and link.source_modified
                and record.modified < link.source_modified):
            return "unchanged"  # an older version replayed (e.g. a feed read from its start)
        if record.deleted:
            if link is None:
                return "skipped"
            link.source_modified = record.modified or link.source_modified
            return self._withdraw(link)
        if link is not None and link.fingerprint == fingerprint and not link.withdrawn:
            return "unchanged"
        if not (record.name or "").strip():
            raise ValueError(f"item {record.external_id} has no name (a session of a series "
                             "not published in this feed)")
        fields = record_fields(record)
        with self.session.no_autoflush:
            venue = self._activity_venue(record)
        if venue is not None and venue.id is None:
            self.session.flush()
        fields["venue_id"] = venue.id if venue else None
        if record.organisation:
            organisation = self._organisation(record)
            if organisation.id is None:
                self.session.flush()
            fields["organisation_id"] = organisation.id
        if link is None:
            existing = self._same_group(record, venue)
            if existing is None:
                self._new.append((record, fields, fingerprint))
                return "created"  # inserted with the batch's other new listings
            activity = existing
            self._merge(activity, fields, None)
            outcome = "linked"
            link = SourceLink(activity=activity, source_id=self.source.id,
                              external_id=record.external_id, url=record.source_url,
                              first_seen_at=self.now, last_seen_at=self.now, disagreements={},
                              missed_runs=0, withdrawn=False)
            self.session.add(link)
        else:
            activity = self.session.get_one(Activity, link.activity_id)
            disagreed = self._merge(activity, fields, link)
            outcome = "disagreement" if disagreed else "updated"
            if link.withdrawn and activity.status == "ended":
                apply_changes(self.session, activity, {"status": "active"}, self.actor,
                              note="listed again by the source", at=self.now)
        link.fingerprint = fingerprint
        link.source_modified = record.modified or link.source_modified
        link.url = record.source_url or link.url
        link.last_seen_at = self.now
        link.missed_runs = 0
        link.withdrawn = False
        activity.last_seen_by_source_at = self.now
        if record.assured_date:
            self._assured(activity, record)
        return outcome

    def _insert_new(self) -> None:
        """Insert the batch's new listings, their history and source links set-wise."""
        new, self._new = self._new, []
        if not new:
            return
        ids = create_activities(self.session, [fields for _, fields, _ in new], self.actor,
                                at=self.now, columns={"last_seen_by_source_at": self.now})
        bulk_insert(self.session, SourceLink.__table__, [
            self.new_link(activity_id, record, fingerprint)
            for activity_id, (record, _, fingerprint) in zip(ids, new, strict=True)])
        for activity_id, (record, _, _) in zip(ids, new, strict=True):
            if record.assured_date:
                self._assured(self.session.get_one(Activity, activity_id), record)

    def _merge(self, activity: Activity, fields: dict[str, Any],
               link: SourceLink | None) -> bool:
        """Apply the feed's values except where a person set the field; note disagreements."""
        protected = human_fields(activity)
        changes = {k: v for k, v in fields.items() if k not in protected}
        apply_changes(self.session, activity, changes, self.actor, at=self.now)
        if link is None:
            return False
        disagreements = {}
        clean = validate_fields({k: v for k, v in fields.items() if k in protected})
        for key, value in clean.items():
            ours = current_value(activity, key)
            theirs = value if key in ("tags", "schedules") else jsonable(value)
            if ours != theirs and theirs not in (None, "", []):
                disagreements[key] = {"value": theirs, "seen_at": self.now.isoformat()}
        if disagreements != (link.disagreements or {}):
            link.disagreements = disagreements
        return bool(disagreements)

    def _withdraw(self, link: SourceLink) -> str:
        if link.withdrawn:
            return "unchanged"
        link.withdrawn = True
        link.last_seen_at = self.now
        activity = self.session.get_one(Activity, link.activity_id)
        still_listed = self.session.scalar(select(func.count()).select_from(SourceLink).where(
            SourceLink.activity_id == activity.id, SourceLink.withdrawn.is_(False),
            SourceLink.id != link.id))
        if not still_listed and activity.status != "ended":
            apply_changes(self.session, activity, {"status": "ended"}, self.actor,
                          note="withdrawn by the source", at=self.now)
        return "withdrawn"

    def _assured(self, activity: Activity, record: ActivityRecord) -> None:
        assert record.assured_date is not None  # callers check it
        assured = datetime.combine(record.assured_date, datetime.min.time(),
                                   tzinfo=self.now.tzinfo)
        if assured > self.now:
            return
        exists = self.session.scalar(select(VerificationEvent.id).where(
            VerificationEvent.activity_id == activity.id,
            VerificationEvent.method == "source-assured",
            VerificationEvent.verified_at >= assured))
        if not exists:
            record_verification(self.session, activity, "source-assured", self.actor,
                                at=assured, note=None, private=False)

    def _same_group(self, record: ActivityRecord, venue: Venue | None) -> Activity | None:
        """A listing from another source that is this group: name, place and days agree."""
        if venue is None or not self._others_listed:
            return None
        name = NameMatcher(record.name)
        days = {d for rule in record.schedules for d in rule.days}
        for activity_id, their_key in self._nearby_listings(venue):
            if activity_id in self._linked or not name.matches(their_key):
                continue
            activity = self.session.get_one(Activity, activity_id)
            theirs = {d for rule in activity.schedules for d in rule.days}
            if days and theirs and not days & theirs:
                continue
            self._linked.add(activity_id)  # two items of the same feed are two listings
            return activity
        return None

    def _nearby_listings(self, venue: Venue) -> list[tuple[int, str]]:
        """(id, name key) of the listings within FEED_LINK.metres of a venue that this source
        does not carry yet: prefetched for the page's venues, else asked for this venue."""
        found = self._nearby.get(venue.id)
        if found is None:
            lat, lon = self._venue_points[venue.id]
            found = self._nearby[venue.id] = [
                (activity_id, name_key(name)) for activity_id, name, alat, alon in
                self.session.execute(self._candidates(BBox.around(lat, lon, FEED_LINK.metres)))
                if haversine_m(lat, lon, alat, alon) <= FEED_LINK.metres]
        return found

    def _prefetch_nearby(self, venue_ids: set[int]) -> None:
        """Cross-source candidates for all the page's new records in one query: the listings
        this source does not carry in the box round the page's venues, shared out to each
        venue by distance. A box holding more than PAGE_CANDIDATES_MAX listings (a feed
        spread over a dense city) is left to one query per venue."""
        points = [(venue_id, *self._venue_points[venue_id]) for venue_id in venue_ids]
        if not points:
            return
        south, north = min(p[1] for p in points), max(p[1] for p in points)
        west, east = min(p[2] for p in points), max(p[2] for p in points)
        low = BBox.around(south, west, FEED_LINK.metres)
        high = BBox.around(north, east, FEED_LINK.metres)
        box = BBox(min(low.min_lon, high.min_lon), low.min_lat,
                   max(low.max_lon, high.max_lon), high.max_lat)
        rows = self.session.execute(self._candidates(box).limit(PAGE_CANDIDATES_MAX + 1)).all()
        if len(rows) > PAGE_CANDIDATES_MAX:
            return
        lats = np.array([row[2] for row in rows], dtype=float)
        lons = np.array([row[3] for row in rows], dtype=float)
        keys: dict[int, str] = {}
        for venue_id, lat, lon in points:
            near = np.flatnonzero(haversine_m(lat, lon, lats, lons) <= FEED_LINK.metres)
            self._nearby[venue_id] = [
                (rows[i][0], keys.get(i) or keys.setdefault(i, name_key(rows[i][1])))
                for i in near.tolist()]

    def _candidates(self, box: BBox) -> Select:
        """Listings in a box that could be a new record's group: not ended, not this feed's."""
        ours = select(SourceLink.id).where(SourceLink.activity_id == Activity.id,
                                           SourceLink.source_id == self.source.id).exists()
        return (select(Activity.id, Activity.name, lat_of(Venue.geom), lon_of(Venue.geom))
                .join(Venue, Activity.venue_id == Venue.id)
                .where(in_bbox(Venue.geom, box), Activity.status != "ended", ~ours))

    def _activity_venue(self, record: ActivityRecord) -> Venue | None:
        """The venue of an activity record: found by name near its point, else created."""
        place = record.venue
        if place is None or not _has_location(place):
            return None
        key = place
        if key in self._resolved:
            return self._resolved[key]
        try:
            postcode, lat, lon, approximate = resolve_location(
                postcode=place.postcode, lat=place.lat, lon=place.lon, data_dir=self.data_dir,
                session=self.session)
        except AssetMapError as exc:
            self._page_issues.append({"level": "warning", "external_id": record.external_id,
                                      "message": f"venue not placed: {exc}"})
            self._resolved[key] = None
            return None
        name = _venue_name(place)
        nearest = min(((haversine_m(lat, lon, vlat, vlon), id(v), v, vlat, vlon)
                       for v, vlat, vlon in self._venue_cache.get(name.lower(), [])),
                      default=None)
        if nearest is not None and nearest[0] <= SAME_VENUE_METRES:
            venue, lat, lon = nearest[2], nearest[3], nearest[4]
        else:
            wheelchair = place.accessibility.get("wheelchair")
            venue = Venue(name=name, address=place.address, postcode=postcode,
                          geom=point(lat, lon), location_approximate=approximate,
                          website=place.website, phone=place.phone, kind=place.kind,
                          wheelchair=wheelchair, step_free={"yes": True, "designated": True,
                                                            "no": False}.get(wheelchair or ""))
            self.session.add(venue)
            self._venue_cache.setdefault(name.lower(), []).append((venue, lat, lon))
        self._resolved[key] = venue
        self._points_pending.append((venue, lat, lon))
        return venue

    @property
    def _venue_points(self) -> dict[int, tuple[float, float]]:
        for venue, lat, lon in self._points_pending:
            if venue.id is not None:
                self._points[venue.id] = (lat, lon)
        self._points_pending = [p for p in self._points_pending if p[0].id is None]
        return self._points

    # -- venues and organisations ----------------------------------------------------------
    def _venue(self, record: VenueRecord) -> Venue:
        wheelchair = record.accessibility.get("wheelchair")
        details: dict[str, Any] = {
            "kind": record.kind, "opening_hours": record.opening_hours,
            "website": record.website, "phone": record.phone, "wheelchair": wheelchair,
            "step_free": {"yes": True, "designated": True, "no": False}.get(wheelchair or ""),
        }
        osm_ref = record.external_id if record.source_type == "osm" else None
        if osm_ref:
            existing = self.session.scalar(select(Venue).where(Venue.osm_ref == osm_ref))
            if existing is not None:
                for key, value in details.items():
                    if value is not None and getattr(existing, key) != value:
                        setattr(existing, key, value)
                if record.lat is not None and record.lon is not None:
                    existing.geom = point(record.lat, record.lon)
                return existing
        name = record.name or record.address or "Unnamed venue"
        return find_or_create_venue(
            self.session, name=name, address=record.address, postcode=record.postcode,
            lat=record.lat, lon=record.lon, osm_ref=osm_ref, data_dir=self.data_dir,
            **{k: v for k, v in details.items() if v is not None})

    def _organisation(self, record: ActivityRecord) -> Organisation:
        org = record.organisation
        assert org is not None
        key = org.name.strip().lower()
        found = self._org_cache.get(key)
        if found is None and key not in self._orgs_asked:
            found = self.session.scalar(select(Organisation).where(
                func.lower(Organisation.name) == key))
        if found is None:
            found = Organisation(name=org.name.strip(), url=org.url, email=org.email,
                                 phone=org.phone)
            self.session.add(found)
        else:
            for attr in ("url", "email", "phone"):
                if getattr(found, attr) is None and getattr(org, attr):
                    setattr(found, attr, getattr(org, attr))
        self._org_cache[key] = found
        return found

    # -- end of a run ----------------------------------------------------------------------
    def finish(self, run_started: datetime, *, complete: bool) -> int:
        """After a complete run of a feed that lists everything: count misses.

        Returns how many listings became "possibly closed".
        """
        if not complete:
            return 0
        self.session.execute(update(SourceLink).where(
            SourceLink.source_id == self.source.id, SourceLink.withdrawn.is_(False),
            SourceLink.last_seen_at < run_started).values(
            missed_runs=SourceLink.missed_runs + 1), execution_options={
            "synchronize_session": False})
        newly = self.session.scalars(
            select(Activity).join(SourceLink, SourceLink.activity_id == Activity.id).where(
                SourceLink.source_id == self.source.id,
                SourceLink.missed_runs >= MISSES_BEFORE_POSSIBLY_CLOSED,
                Activity.possibly_closed.is_(False))).all()
        for activity in newly:
            apply_changes(self.session, activity, {"possibly_closed": True}, self.actor,
                          note=f"missing from {self.source.name} for "
                               f"{MISSES_BEFORE_POSSIBLY_CLOSED} runs", at=self.now)
        return len(newly)
