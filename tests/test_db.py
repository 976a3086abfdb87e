"""What the database layer promises on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from geoalchemy2 import WKTElement
from sqlalchemy import select, text

from assetmap import db
from assetmap.models import Area, Venue
from assetmap.spatial import contains_point, point


def test_datetimes_come_back_in_utc_whatever_they_were_stored_in(app, session):
    # Stored from a British Summer Time clock; read back as the same instant, in UTC.
    summer = datetime(2026, 7, 1, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    venue = Venue(name="Clock Hall", geom=point(51.55, -0.14), created_at=summer,
                  updated_at=summer)
    session.add(venue)
    session.commit()
    session.expire_all()
    stored = session.scalar(select(Venue.updated_at).where(Venue.id == venue.id))
    assert stored == datetime(2026, 7, 1, 9, 30, tzinfo=UTC) and stored.tzinfo is UTC
    # The same through the Core path a search's hot reads take.
    created = db.column_rows(session, select(Venue.created_at).where(Venue.id == venue.id))
    assert created.scalar() == summer
    if not db.is_sqlite(session):
        # PostgreSQL sessions run in UTC, whatever the server's own setting says.
        assert session.execute(text("SHOW TimeZone")).scalar() == "UTC"



def test_one_of_picks_the_same_rows_as_in_whatever_the_list_length(app, session):
    halls = [Venue(name=f"Hall {n}", geom=point(51.55, -0.14)) for n in range(6)]
    session.add_all(halls)
    session.commit()
    ids = [hall.id for hall in halls]
    for wanted in (ids[:1], ids[1:4], [ids[5], ids[0], 999_999]):
        stmt = select(Venue.name).where(db.one_of(session, Venue.id, wanted)).order_by(Venue.id)
        assert list(session.scalars(stmt)) == [h.name for h in halls if h.id in wanted]
    # The names come through too, where one list of text is one parameter on PostgreSQL.
    names = select(Venue.id).where(db.one_of(session, Venue.name, ["Hall 2", "Hall 4"]))
    assert sorted(session.scalars(names)) == [ids[2], ids[4]]
    sql = str(select(Venue.id).where(db.one_of(session, Venue.id, ids)).compile(
        bind=session.get_bind()))
    assert (" IN " in sql) if db.is_sqlite(session) else (" ANY " in sql and " IN " not in sql)


def _square(code: str, west: float, south: float, size: float) -> Area:
    ring = (f"{west} {south}, {west + size} {south}, {west + size} {south + size}, "
            f"{west} {south + size}, {west} {south}")
    return Area(code=code, name=f"Ward {code}", kind="ward",
                geom=WKTElement(f"MULTIPOLYGON((({ring})))", srid=4326))


def test_contains_point_finds_the_areas_around_a_point_through_the_spatial_index(app, session):
    session.add_all([_square("W1", -0.20, 51.50, 0.05), _square("W2", -0.15, 51.50, 0.05),
                     _square("B1", -0.20, 51.50, 0.10)])
    session.commit()
    inside = select(Area.code).where(contains_point(Area.geom, 51.52, -0.17)).order_by(Area.code)
    assert list(session.scalars(inside)) == ["B1", "W1"]
    # In the second square, and outside every square.
    assert list(session.scalars(select(Area.code).where(
        contains_point(Area.geom, 51.52, -0.12)).order_by(Area.code))) == ["B1", "W2"]
    assert not list(session.scalars(select(Area.code).where(
        contains_point(Area.geom, 51.70, -0.17))))
    if db.is_sqlite(session):
        # SpatiaLite is asked through its R*Tree, not by testing every polygon.
        sql = str(inside.compile(bind=session.get_bind(),
                                 compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(row) for row in session.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "SpatialIndex" in plan or "VIRTUAL TABLE" in plan, plan
