"""The listings a search ranks are held in memory per database (assetmap.matching.candidates)
and the venues' snaps beside each walking network: every write is seen by the next search,
a session's own uncommitted writes too, and a rolled-back write leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect, select, update

from assetmap import db, migrate
from assetmap.db import session_scope
from assetmap.demo import load_areas
from assetmap.listings.changes import SYSTEM, apply_changes, create_activity
from assetmap.listings.venues import find_or_create_venue
from assetmap.matching.candidates import _read, candidates
from assetmap.matching.rank import MatchQuery, Origin
from assetmap.matching.search import find_matches
from assetmap.models import Activity, ActivityTag, Venue
from assetmap.models.base import utcnow
from assetmap.models.changes import (
    LISTINGS,
    VENUES,
    change_token,
    changes_since,
    prune_changes,
)
from assetmap.places.area_index import held_areas
from assetmap.schedule import parse_schedule
from assetmap.walking.service import walking_service

HERE = (51.5343, -0.1389)  # Mornington Crescent


@pytest.fixture
def group(app) -> int:
    """A lunch club a few minutes' walk from HERE."""
    with session_scope(app) as s:
        venue = find_or_create_venue(s, name="Crescent Hall", lat=51.5349, lon=-0.1391,
                                     data_dir=app.config["DATA_DIR"])
        return create_activity(s, {"name": "Crescent Lunch Club", "category": "lunch-club",
                                   "venue_id": venue.id, "tags": ["free"],
                                   "schedules": ["Wednesdays 12:00-14:00"]}, SYSTEM).id


def _names(app, session, **asked) -> list[str]:
    query = MatchQuery.checked(Origin(*HERE, "lat-lon"), minutes=10, **asked)
    found = find_matches(session, walking_service(app), query, now=utcnow())
    return [m["name"] for m in found.matches]


def _tokens(app) -> tuple[int | None, int | None]:
    with session_scope(app) as s:
        return change_token(s, LISTINGS), change_token(s, VENUES)


def test_every_write_a_search_depends_on_replaces_a_token(app, group):
    listings, venues = _tokens(app)
    assert listings is not None and venues is not None  # made with the tables
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(intake="full"))
    after = _tokens(app)
    assert after[0] != listings and after[1] == venues  # a listing's write moves no venue
    listings = after[0]
    with session_scope(app) as s:
        s.execute(delete(ActivityTag).where(ActivityTag.activity_id == group))
    assert _tokens(app)[0] != listings
    listings = _tokens(app)[0]
    with session_scope(app) as s:
        s.execute(update(Venue).values(hearing_loop=True))
    moved = _tokens(app)
    assert moved[0] != listings and moved[1] != venues


def test_a_write_rolled_back_leaves_the_token_as_it_was(app, group):
    before = _tokens(app)
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(intake="full"))
        assert change_token(s, LISTINGS) != before[0]  # the session sees its own write
        s.rollback()
    assert _tokens(app) == before


def test_a_search_sees_a_change_committed_by_another_session_at_once(app, group, network):
    with session_scope(app) as s:
        assert _names(app, s, newcomers=True) == ["Crescent Lunch Club"]
        held = candidates(s)
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(intake="full"))
    with session_scope(app) as s:
        assert _names(app, s, newcomers=True) == []
        assert _names(app, s) == ["Crescent Lunch Club"]  # full ranks lower, still listed
        assert candidates(s) is not held
        assert candidates(s) is candidates(s)  # nothing changed: held, not read again


def test_a_search_sees_its_own_uncommitted_write_and_nothing_of_it_after_rollback(
        app, group, network):
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(status="ended"))
        assert _names(app, s) == []
        s.rollback()
    with session_scope(app) as s:
        assert _names(app, s) == ["Crescent Lunch Club"]


def test_needs_met_by_tag_or_by_venue_and_a_venue_change_is_seen(app, group, network):
    with session_scope(app) as s:
        assert _names(app, s, needs=["free"]) == ["Crescent Lunch Club"]
        assert _names(app, s, needs=["hearing-loop"]) == []
    with session_scope(app) as s:
        s.execute(update(Venue).values(hearing_loop=True))
    with session_scope(app) as s:
        assert _names(app, s, needs=["hearing-loop", "free"]) == ["Crescent Lunch Club"]


def test_a_moved_venue_is_snapped_again_before_the_next_search(app, group, network):
    with session_scope(app) as s:
        assert _names(app, s) == ["Crescent Lunch Club"]
        venue_id = s.scalar(select(Activity.venue_id).where(Activity.id == group))
    with session_scope(app) as s:  # to Hampstead Heath, far beyond a 10-minute walk
        s.execute(update(Venue).where(Venue.id == venue_id)
                  .values(geom="SRID=4326;POINT(-0.1657 51.5638)"))
    with session_scope(app) as s:
        assert _names(app, s) == []


def test_revision_0018_goes_down_and_up_again_with_its_triggers(app):
    engine = db.get_engine(app)
    migrate.downgrade(engine, "0017")
    try:
        with engine.connect() as conn:
            assert "change_tokens" not in inspect(conn).get_table_names()
            assert "ix_venues_updated_at" in {i["name"] for i in inspect(conn).get_indexes(
                "venues")}
    finally:
        migrate.upgrade(engine)
    before = _tokens(app)
    assert None not in before
    with session_scope(app) as s:
        find_or_create_venue(s, name="New Hall", lat=51.5349, lon=-0.1391,
                             data_dir=app.config["DATA_DIR"])
    after = _tokens(app)
    assert after[0] != before[0] and after[1] != before[1]


def test_a_schedule_rewritten_alone_reaches_the_next_search(app, group, network):
    # Wednesday noon to Wednesday evening: the listing's weekdays stay as they were, so only
    # its schedule rows are written.
    with session_scope(app) as s:
        assert _names(app, s, day="wed", time_of_day="afternoon") == ["Crescent Lunch Club"]
        assert _names(app, s, day="wed", time_of_day="evening") == []
    with session_scope(app) as s:
        apply_changes(s, s.get(Activity, group), {"schedules": ["Wednesdays 18:00-20:00"]},
                      SYSTEM)
    with session_scope(app) as s:
        assert _names(app, s, day="wed", time_of_day="evening") == ["Crescent Lunch Club"]
        assert _names(app, s, day="wed", time_of_day="afternoon") == []


def _as_read_afresh(s) -> tuple[dict, dict, set]:
    listings = _read(s, None)
    by_venue: dict[int, set[int]] = {}
    for listing in listings:
        if listing.venue_id is not None:
            by_venue.setdefault(listing.venue_id, set()).add(listing.id)
    return ({c.id: c for c in listings}, by_venue, {c.id for c in listings if c.remote})


def _as_held(index) -> tuple[dict, dict, set]:
    return (index.by_id, {v: {c.id for c in listed} for v, listed in index.by_venue.items()},
            {c.id for c in index.remote})


def test_listings_brought_up_to_date_from_the_change_log_match_a_fresh_read(app, group):
    with session_scope(app) as s:
        first = candidates(s)
        other = find_or_create_venue(s, name="Other Hall", lat=51.5360, lon=-0.1400,
                                     data_dir=app.config["DATA_DIR"])
        phone = create_activity(s, {
            "name": "Phone Chat", "category": "befriending", "mode": "phone",
            "service_area": "anywhere", "join_how": "Ring 020 7946 0003",
            "schedules": ["Fridays 10:00-11:00"]}, SYSTEM).id
        gone = create_activity(s, {"name": "Soon Gone", "category": "book-club",
                                   "venue_id": other.id}, SYSTEM).id
    with session_scope(app) as s:
        assert candidates(s).seq > first.seq
        # Moved to another venue, its tag dropped, its schedule rewritten; a venue's
        # accessibility changed; a listing deleted; another ended.
        apply_changes(s, s.get(Activity, group), {
            "venue_id": other.id, "tags": [], "schedules": ["Thursdays 09:00-10:00"]}, SYSTEM)
        s.execute(update(Venue).where(Venue.id == other.id).values(step_free=True))
        s.execute(delete(Activity).where(Activity.id == gone))
        s.execute(update(Activity).where(Activity.id == phone).values(intake="open"))
    with session_scope(app) as s:
        held = candidates(s)
        assert _as_held(held) == _as_read_afresh(s)
        assert held.by_id[group].venue_id == other.id
        assert held.by_id[group].meets == {"step-free"}
        assert held.by_id[group].rules == tuple(parse_schedule("Thursdays 09:00-10:00"))
        assert gone not in held.by_id and held.by_id[phone].intake == "open"
        assert [c.id for c in held.remote] == [phone]


def test_a_pruned_change_log_means_reading_every_listing_again(app, group):
    with session_scope(app) as s:
        first = candidates(s)
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(intake="full"))
    with session_scope(app) as s:
        assert prune_changes(s, keep=0) > 0
    with session_scope(app) as s:
        assert changes_since(s, first.seq) is None
        held = candidates(s)
        assert held.by_id[group].intake == "full"
        assert _as_held(held) == _as_read_afresh(s)
        assert prune_changes(s, keep=0) == 0  # nothing more to delete


def test_what_a_writing_session_sees_is_not_held_for_others(app, group):
    with session_scope(app) as s:
        held = candidates(s)
    with session_scope(app) as s:
        s.execute(update(Activity).where(Activity.id == group).values(intake="full"))
        assert candidates(s).by_id[group].intake == "full"
        s.rollback()
    with session_scope(app) as s:
        assert candidates(s) is held  # the token is back to the one it was read at


def test_the_server_reads_the_listings_before_its_workers_fork(app, group):
    import gc

    from assetmap.matching.candidates import _HELD
    from assetmap.places.area_index import _HELD as _HELD_AREAS
    from assetmap.web.serving import prepare_to_serve

    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])  # a write: the tests' tables start with no token
    engine = db.get_engine(app)
    try:
        prepare_to_serve(app)
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    held = _HELD[engine].index
    assert held is not None and group in held.by_id
    areas = _HELD_AREAS[engine]
    assert len(areas.names) > 1 and areas.token is not None
    assert engine.pool.checkedout() == 0  # no connection carried into the workers
    with session_scope(app) as s:
        assert candidates(s) is held  # a worker's first search uses it as it is
        assert held_areas(s) is areas


def test_a_held_listing_has_the_freshness_its_columns_give_at_any_time(app, group):
    """Held listings keep their due date and sticky state, not the columns they come from:
    the state at any moment is the one `of_listing` gives from the columns themselves."""
    from datetime import timedelta

    from assetmap.freshness.rules import of_listing

    now = utcnow()
    shapes = [  # the freshness job's cached due date, or only the last check, or neither
        {"freshness_due_at": now + timedelta(days=20), "freshness_state": "fresh"},
        {"freshness_due_at": now - timedelta(days=3), "freshness_state": "possibly-closed"},
        {"freshness_due_at": None, "last_verified_at": now - timedelta(days=100),
         "last_verified_method": "phoned"},
        {"freshness_due_at": None, "last_verified_at": now - timedelta(days=400),
         "last_verified_method": "source-feed"},
        {"freshness_due_at": None, "last_verified_at": now - timedelta(days=5),
         "last_verified_method": "visited", "possibly_closed": True},
        {"freshness_due_at": None, "last_verified_at": None, "last_verified_method": None},
        {"freshness_due_at": None, "last_verified_at": None, "possibly_closed": True},
    ]
    with session_scope(app) as s:
        venue = s.get(Activity, group).venue_id
        ids = [create_activity(s, {"name": f"Group {i}", "category": "walking-group",
                                   "venue_id": venue}, SYSTEM).id for i in range(len(shapes))]
    with session_scope(app) as s:
        for listing_id, columns in zip(ids, shapes, strict=True):
            s.execute(update(Activity).where(Activity.id == listing_id).values(**columns))
    with session_scope(app) as s:
        held = candidates(s)
        seen = set()
        for listing_id in ids:
            row = s.get(Activity, listing_id)
            for days in (-30, 0, 1, 60, 200, 800):
                moment = now + timedelta(days=days)
                state = held.by_id[listing_id].state(moment)
                assert state == of_listing(row, moment).state, (listing_id, days)
                seen.add(state)
    assert {"fresh", "due-soon", "stale", "very-stale", "unknown", "possibly-closed"} <= seen


def test_a_listing_deleted_between_ranking_and_reading_its_summary_is_left_out(
        app, group, network, monkeypatch):
    """On PostgreSQL a search's statements each see what was committed before them: a
    listing deleted after the tokens were read has no summary, and the search shows the rest
    rather than failing."""
    import assetmap.matching.search as search

    with session_scope(app) as s:
        venue = s.get(Activity, group).venue_id
        other = create_activity(s, {"name": "Crescent Walkers", "category": "walking-group",
                                    "venue_id": venue, "tags": ["free"]}, SYSTEM).id
    real = search.listing_summaries

    def as_if_deleted_meanwhile(session, ids, **kwargs):
        return {i: v for i, v in real(session, ids, **kwargs).items() if i != other}

    monkeypatch.setattr(search, "listing_summaries", as_if_deleted_meanwhile)
    with session_scope(app) as s:
        assert _names(app, s) == ["Crescent Lunch Club"]
