"""What the database layer promises on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select, text

from assetmap import db
from assetmap.models import Venue
from assetmap.spatial import point


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

