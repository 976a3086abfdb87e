"""The areas are held in memory per database (assetmap.places.area_index.held_areas):
a search places its start in them as `ST_Contains` would, every write to `areas` is seen by
the next search, a session's own uncommitted writes too, and nothing of a rolled-back write
is held for others."""

from __future__ import annotations

from sqlalchemy import delete, inspect, select, update

from assetmap import db, migrate
from assetmap.db import session_scope
from assetmap.demo import load_areas
from assetmap.models import Area
from assetmap.models.changes import AREAS, change_token
from assetmap.places.area_index import area_names, held_areas, origin_areas
from assetmap.spatial import contains_point

# A square well away from Camden, and a point in it.
SQUARE = "SRID=4326;MULTIPOLYGON(((-1.01 52.99, -0.99 52.99, -0.99 53.01, -1.01 53.01, " \
         "-1.01 52.99)))"
INSIDE = (53.0, -1.0)
KENTISH_TOWN = (51.5502, -0.1405)


def _add_square(s, code: str = "E05999999", name: str = "Test Ward") -> None:
    s.add(Area(code=code, name=name, kind="ward", geom=SQUARE))


def test_a_start_is_placed_in_the_areas_the_database_says_contain_it(app):
    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])
    points = [KENTISH_TOWN, (51.5343, -0.1389), (51.5560, -0.1780), (51.5180, -0.1190),
              (51.4000, -0.1000)]  # the last outside Camden
    with session_scope(app) as s:
        for lat, lon in points:
            in_sql = dict(s.execute(select(Area.code, Area.name).where(
                contains_point(Area.geom, lat, lon))).tuples().all())
            assert origin_areas(s, lat, lon) == in_sql
        assert len(origin_areas(s, *KENTISH_TOWN)) == 2  # its ward and the borough
        assert origin_areas(s, 51.4, -0.1) == {}


def test_an_area_added_moved_renamed_or_removed_by_another_session_is_seen_at_once(app):
    with session_scope(app) as s:
        assert origin_areas(s, *INSIDE) == {}
    with session_scope(app) as s:
        _add_square(s)
    with session_scope(app) as s:
        assert origin_areas(s, *INSIDE) == {"E05999999": "Test Ward"}
        assert area_names(s, ["E05999999", "anywhere", "NOPE"]) == {"E05999999": "Test Ward"}
    with session_scope(app) as s:
        s.execute(update(Area).where(Area.code == "E05999999").values(name="Renamed Ward"))
    with session_scope(app) as s:
        assert origin_areas(s, *INSIDE) == {"E05999999": "Renamed Ward"}
    with session_scope(app) as s:
        s.execute(update(Area).where(Area.code == "E05999999").values(
            geom=SQUARE.replace("-1.01", "-2.01").replace("-0.99", "-1.99")))
    with session_scope(app) as s:
        assert origin_areas(s, *INSIDE) == {}
        assert origin_areas(s, 53.0, -2.0) == {"E05999999": "Renamed Ward"}
    with session_scope(app) as s:
        s.execute(delete(Area).where(Area.code == "E05999999"))
    with session_scope(app) as s:
        assert origin_areas(s, 53.0, -2.0) == {}
        assert area_names(s, ["E05999999"]) == {}


def test_a_session_sees_its_own_uncommitted_area_and_nothing_of_it_is_held(app):
    with session_scope(app) as s:
        load_areas(s, app.config["DATA_DIR"])  # a write: the tests' tables start with no token
    with session_scope(app) as s:
        held = held_areas(s)
        assert held.token is not None
    with session_scope(app) as s:
        _add_square(s)
        s.flush()
        assert origin_areas(s, *INSIDE) == {"E05999999": "Test Ward"}
        s.rollback()
    with session_scope(app) as s:
        assert origin_areas(s, *INSIDE) == {}
        assert held_areas(s) is held  # the token is back to the one it was read at


def test_revision_0019_goes_down_and_up_again_with_its_triggers(app):
    engine = db.get_engine(app)
    migrate.downgrade(engine, "0018")
    try:
        with session_scope(app) as s:
            assert change_token(s, AREAS) is None
            assert "change_tokens" in inspect(s.connection()).get_table_names()
    finally:
        migrate.upgrade(engine)
    with session_scope(app) as s:
        before = change_token(s, AREAS)
    assert before is not None
    with session_scope(app) as s:
        _add_square(s)
    with session_scope(app) as s:
        assert change_token(s, AREAS) != before
