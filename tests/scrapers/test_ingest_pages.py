"""A page of records merged by the Ingestor directly: the set-based path for new listings
must give exactly what the one-at-a-time path gives, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

import pytest
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.errors import ValidationError
from assetmap.feeds.ingest import Ingestor
from assetmap.listings.changes import Actor, create_activities, create_activity, history
from assetmap.models import (
    Activity,
    ChangeRecord,
    Source,
    SourceLink,
    VerificationEvent,
)
from assetmap.schedule import ScheduleRule
from scrapers.records import ActivityRecord, OrganisationRecord, VenueRecord

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
FEED = Actor("source", "test feed", source_id=None)


def record(external_id: str, name: str, **overrides) -> ActivityRecord:
    fields = dict(
        source_type="openactive", external_id=external_id, name=name,
        source_url=f"https://feed.example.org/{external_id}",
        description="Soup, sandwiches and a chat.", category="lunch-club",
        schedules=(ScheduleRule("weekly", clock(12), clock(14), days=("TU",)),),
        venue=VenueRecord("openactive", None, "Busby Place Hall", "2 Busby Place",
                          "NW5 2AB", 51.5503, -0.1337),
        organisation=OrganisationRecord("Kentish Town Community Centre"),
        cost_kind="amount", cost_amount=Decimal("3.50"), tags=frozenset({"over-50s"}))
    fields.update(overrides)
    return ActivityRecord(**fields)


def new_source(app) -> int:
    with session_scope(app) as s:
        source = Source(type="openactive", url="https://feed.example.org", name="test feed",
                        every_seconds=3600, state={})
        s.add(source)
        s.flush()
        return source.id


def ingest(app, source_id: int, page: list, now: datetime = NOW):
    with session_scope(app) as s:
        return Ingestor(s, s.get(Source, source_id), data_dir=app.config["DATA_DIR"],
                        now=now).ingest(page)


def listing(session, activity_id: int) -> dict:
    """Everything stored about one listing, without ids, comparable across listings."""
    activity = session.get(Activity, activity_id)
    columns = {c.key: getattr(activity, c.key) for c in Activity.__table__.columns
               if c.key not in ("id", "name")}
    changes = sorted((c.field, c.old_value, c.new_value, c.actor_type, c.actor_label,
                      c.changed_at) for c in history(session, activity_id)
                     if c.field != "name")
    return {"columns": columns, "tags": activity.tags,
            "schedules": [row.rule for row in activity.schedule_rows], "history": changes}


def test_bulk_created_listings_are_stored_as_one_by_one_creation_stores_them(session):
    fields = {"category": "lunch-club", "description": "Soup and a chat",
              "cost_kind": "amount", "cost_amount": "3.5", "tags": ["over-50s", "free"],
              "schedules": ["Tuesdays 12:00-14:00", "Fridays 10:00-11:00"],
              "contact_url": "https://example.org", "gender": "any", "age_min": 50}
    single = create_activity(session, fields | {"name": "One"}, FEED, at=NOW)
    single_id = single.id
    (bulk,) = create_activities(session, [fields | {"name": "Two"}], FEED, at=NOW)
    session.commit()
    session.expire_all()
    assert listing(session, bulk) == listing(session, single_id)
    stored = listing(session, bulk)
    assert stored["columns"]["cost_amount"] == Decimal("3.50")
    assert stored["columns"]["freshness_state"] == "unknown"
    assert stored["tags"] == ["free", "over-50s"]
    assert [rule["days"] for rule in stored["schedules"]] == [["TU"], ["FR"]]
    assert stored["columns"]["session_weekdays"] == 0b0010010  # Tuesday and Friday
    # History holds what the listing was given, not the defaults nobody said.
    fields_recorded = {change[0] for change in stored["history"]}
    assert {"cost_amount", "tags", "schedules", "age_min"} <= fields_recorded
    assert not fields_recorded & {"gender", "status", "mode", "possibly_closed"}


def test_bulk_creation_refuses_a_bad_field_by_name_and_writes_nothing(session):
    before = session.scalar(select(ChangeRecord.id).order_by(ChangeRecord.id.desc()))
    with pytest.raises(ValidationError) as refused:
        create_activities(session, [{"name": "Fine", "category": "lunch-club"},
                                    {"name": "x" * 301, "category": "lunch-club"}],
                          FEED, at=NOW)
    assert refused.value.field == "name"
    assert session.scalar(select(ChangeRecord.id).order_by(ChangeRecord.id.desc())) == before
    assert session.scalars(select(Activity.name)).all() == []


def test_a_page_of_new_records_becomes_listings_with_links_and_history(app):
    source_id = new_source(app)
    assured = record("c", "Chair Yoga", category="chair-exercise",
                     assured_date=(NOW - timedelta(days=3)).date())
    counts = ingest(app, source_id, [record("a", "Lunch Club"), record("b", "Tea Dance"),
                                     assured])
    assert (counts.created, counts.skipped) == (3, 0)
    with session_scope(app) as s:
        links = {link.external_id: link for link in s.scalars(select(SourceLink))}
        assert set(links) == {"a", "b", "c"}
        assert all(link.last_seen_at == NOW and link.fingerprint for link in links.values())
        lunch = s.get(Activity, links["a"].activity_id)
        assert lunch.last_seen_by_source_at == NOW
        assert lunch.venue.name == "Busby Place Hall"
        assert lunch.organisation.name == "Kentish Town Community Centre"
        assert lunch.tags == ["over-50s"] and lunch.cost_amount == Decimal("3.50")
        assert {c.field for c in history(s, lunch.id)} >= {"name", "venue_id", "schedules"}
        assert {c.actor_type for c in history(s, lunch.id)} == {"source"}
        # One venue and one organisation for the three, not one each.
        assert len({s.get(Activity, link.activity_id).venue_id
                    for link in links.values()}) == 1
        check = s.scalar(select(VerificationEvent).where(
            VerificationEvent.activity_id == links["c"].activity_id))
        assert check.method == "source-assured"
    again = ingest(app, source_id, [record("a", "Lunch Club"), record("b", "Tea Dance"),
                                    assured], now=NOW + timedelta(hours=6))
    assert (again.created, again.unchanged) == (0, 3)


def test_one_bad_record_is_skipped_and_the_rest_of_the_page_is_kept(app):
    source_id = new_source(app)
    counts = ingest(app, source_id, [record("a", "Lunch Club"),
                                     record("bad", "x" * 301),
                                     record("b", "Tea Dance")])
    assert (counts.created, counts.skipped) == (2, 1)
    (issue,) = counts.issues
    assert issue["external_id"] == "bad" and "name" in issue["message"]
    with session_scope(app) as s:
        assert sorted(s.scalars(select(Activity.name))) == ["Lunch Club", "Tea Dance"]


def test_an_item_listed_twice_in_one_page_is_one_listing_with_the_later_version(app):
    source_id = new_source(app)
    counts = ingest(app, source_id, [record("a", "Lunch Club"), record("b", "Tea Dance"),
                                     record("a", "Lunch Club", description="Now with soup.")])
    assert (counts.created, counts.updated, counts.skipped) == (2, 1, 0)
    with session_scope(app) as s:
        names = sorted(s.scalars(select(Activity.name)))
        assert names == ["Lunch Club", "Tea Dance"]
        lunch = s.scalar(select(Activity).where(Activity.name == "Lunch Club"))
        assert lunch.description == "Now with soup."


def test_an_unchanged_rerun_only_marks_the_sighting(app):
    source_id = new_source(app)
    page = [record(str(i), f"Group {i}") for i in range(30)]
    ingest(app, source_id, page)
    with session_scope(app) as s:
        versions = dict(s.execute(select(Activity.id, Activity.version)).all())
        changes = s.scalar(select(ChangeRecord.id).order_by(ChangeRecord.id.desc()))
    later = NOW + timedelta(days=1)
    counts = ingest(app, source_id, page, now=later)
    assert (counts.unchanged, counts.created, counts.updated) == (30, 0, 0)
    with session_scope(app) as s:
        assert dict(s.execute(select(Activity.id, Activity.version)).all()) == versions
        assert s.scalar(select(ChangeRecord.id).order_by(ChangeRecord.id.desc())) == changes
        assert set(s.scalars(select(SourceLink.last_seen_at))) == {later}
        assert set(s.scalars(select(Activity.last_seen_by_source_at))) == {later}


def test_postgres_statements_are_planned_for_their_values(app):
    """psycopg must not server-prepare our statements: PostgreSQL's generic plan for a feed
    page's IN list over a freshly loaded table was 20x slower than a plan for its values."""
    with session_scope(app) as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("a PostgreSQL driver setting")
        assert s.connection().connection.driver_connection.prepare_threshold is None


@pytest.mark.parametrize("page_candidates", [20_000, 0], ids=["one query a page",
                                                               "one query a venue"])
def test_a_second_feed_links_the_same_group_and_only_that(app, monkeypatch, page_candidates):
    monkeypatch.setattr("assetmap.feeds.ingest.PAGE_CANDIDATES_MAX", page_candidates)
    first, second = new_source(app), new_source(app)
    ingest(app, first, [record("a", "Kentish Town Lunch Club"), record("b", "Tea Dance")])
    far = VenueRecord("openreferral", None, "Hall far away", None, None, 51.5600, -0.1337)
    counts = ingest(app, second, [
        record("x", "Kentish Town lunch club", source_type="openreferral"),  # the same group
        record("y", "Chair Yoga", source_type="openreferral"),  # same hall, other group
        record("z", "Tea Dance", source_type="openreferral", venue=far),  # 1 km away
        record("w", "Kentish Town Lunch Club (Fridays)", source_type="openreferral",
               schedules=(ScheduleRule("weekly", clock(12), clock(14), days=("FR",)),)),
    ])
    assert (counts.linked, counts.created) == (1, 3)
    with session_scope(app) as s:
        links = {link.external_id: link.activity_id for link in s.scalars(select(SourceLink))}
        assert links["x"] == links["a"]
        assert len({links[k] for k in ("a", "b", "y", "z", "w")}) == 5
