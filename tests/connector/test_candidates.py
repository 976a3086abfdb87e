"""The listings a search ranks are held in memory per database (assetmap.matching.candidates)
and the venues' snaps beside each walking network: every write is seen by the next search,
a session's own uncommitted writes too, and a rolled-back write leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, inspect, select, update

from assetmap import db, migrate
from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, apply_changes, create_activity
from assetmap.listings.venues import find_or_create_venue
from assetmap.matching.candidates import candidates
from assetmap.matching.rank import MatchQuery, Origin, find_matches
from assetmap.models import Activity, ActivityTag, Venue
from assetmap.models.base import utcnow
from assetmap.models.changes import LISTINGS, VENUES, change_token
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
