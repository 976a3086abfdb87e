"""Throwaway databases full of synthetic listings, for benchmarks (not tests).

Real Camden venues plus random points (some step-free or with a hearing loop), activities
spread over them with schedules, tags and verification dates, Camden's wards and borough, and
phone and online listings serving some of those areas or anywhere (the "Without travelling"
list). Inserted with Core executemany so that 100,000 rows take seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from assetmap import db, migrate, vocab
from assetmap.demo import load_areas
from assetmap.models import Activity, ActivityTag, Area, ScheduleEntry, Venue
from assetmap.schedule import DAY_CODES, ScheduleRule, session_weekdays

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CATEGORIES = sorted(vocab.CATEGORY_IDS)
TAGS = sorted(vocab.TAG_IDS)


@contextmanager
def seeded_database(backend: str, folder: Path, rng: np.random.Generator, *,
                    activities: int = 100_000, random_venues: int = 5_000,
                    remote: int = 300) -> Iterator[str]:
    if backend == "spatialite":
        url = f"sqlite:///{folder / 'bench.sqlite'}"
        _fill(url, rng, activities, random_venues, remote)
        yield url
        return
    name = f"assetmap_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        _fill(url, rng, activities, random_venues, remote)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _fill(url: str, rng: np.random.Generator, n_activities: int, n_random: int,
          n_remote: int) -> None:
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    now = datetime.now(UTC)
    features = json.loads((REPO / "data/venues/camden-community-venues-osm.geojson")
                          .read_text())["features"]
    points = [f["geometry"]["coordinates"] for f in features]
    lons = rng.uniform(-0.213, -0.105, n_random)
    lats = rng.uniform(51.513, 51.583, n_random)
    points += list(zip(lons.tolist(), lats.tolist(), strict=True))
    step_free = rng.random(len(points)) < 0.3
    loop = rng.random(len(points)) < 0.1
    venues = [{"name": f"Venue {i}", "geom": f"SRID=4326;POINT({lon} {lat})",
               "location_approximate": False, "demo": True, "created_at": now,
               "updated_at": now, "step_free": bool(step_free[i]), "hearing_loop": bool(loop[i])}
              for i, (lon, lat) in enumerate(points)]
    with engine.begin() as conn:
        conn.execute(insert(Venue.__table__), venues)
    venue_ids = np.arange(1, len(venues) + 1)
    rows, tags, schedules = [], [], []
    for i in range(1, n_activities + 1):
        verified = None if rng.random() < 0.1 else now - timedelta(days=int(rng.integers(1,
                                                                                         700)))
        rows.append({"id": i, "name": f"Activity {i}", "category": CATEGORIES[i % len(
            CATEGORIES)], "venue_id": int(rng.choice(venue_ids)), "mode": "in-person",
            "cost_kind": "free" if i % 3 == 0 else "amount", "gender": "any",
            "status": "active" if i % 20 else "ended", "field_provenance": {}, "demo": True,
            "version": 1, "possibly_closed": False, "last_verified_at": verified,
            "last_verified_method": "phoned" if verified else None, "created_at": now,
            "updated_at": now})
        for tag in rng.choice(TAGS, int(rng.integers(0, 4)), replace=False):
            tags.append({"activity_id": i, "tag": str(tag)})
        schedules.append(_weekly(i, int(rng.integers(9, 19))))
        rows[-1]["session_weekdays"] = _weekdays(schedules[-1])
    with Session(engine) as session, session.begin():
        load_areas(session, REPO / "data")
        wards = sorted(session.scalars(select(Area.code).where(Area.kind == "ward")))
        borough = sorted(session.scalars(select(Area.code).where(Area.kind == "borough")))
    remote_rows = []  # inserted apart: executemany takes its columns from the first row
    for i in range(n_activities + 1, n_activities + n_remote + 1):
        # Phone and online listings: a quarter anywhere, some the borough, most a few wards.
        pick = rng.random()
        area = (["anywhere"] if pick < 0.25 else borough if pick < 0.35
                else [str(w) for w in rng.choice(wards, int(rng.integers(1, 4)), replace=False)])
        mode = "phone" if i % 2 else "online"
        remote_rows.append({"id": i, "name": f"Remote {i}", "category": CATEGORIES[i % len(
            CATEGORIES)], "venue_id": None, "mode": mode, "service_area": area,
            "join_how": f"Ring 020 7946 {i % 10_000:04d}" if mode == "phone"
            else f"https://meet.example.org/{i}",
            "cost_kind": "free" if i % 3 == 0 else "amount", "gender": "any",
            "status": "active", "field_provenance": {}, "demo": True, "version": 1,
            "possibly_closed": False, "last_verified_at": now - timedelta(days=i % 300),
            "last_verified_method": "phoned", "created_at": now, "updated_at": now})
        for tag in rng.choice(TAGS, int(rng.integers(0, 4)), replace=False):
            tags.append({"activity_id": i, "tag": str(tag)})
        schedules.append(_weekly(i, int(rng.integers(9, 19))))
        remote_rows[-1]["session_weekdays"] = _weekdays(schedules[-1])
    with engine.begin() as conn:
        for table, data in ((Activity.__table__, rows), (Activity.__table__, remote_rows),
                            (ActivityTag.__table__, tags),
                            (ScheduleEntry.__table__, schedules)):
            for chunk in range(0, len(data), 20_000):
                conn.execute(insert(table), data[chunk:chunk + 20_000])
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT setval('activities_id_seq', "
                                 "(SELECT max(id) FROM activities))")
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()


def _weekly(activity_id: int, start: int) -> dict:
    """A weekly hour-long session starting at `start` o'clock, on a day set by the id."""
    rule = ScheduleRule("weekly", datetime(2000, 1, 1, start).time(),
                        datetime(2000, 1, 1, start + 1).time(),
                        days=(DAY_CODES[activity_id % 7],)).to_dict()
    rule.pop("text")
    return {"activity_id": activity_id, "position": 0, "kind": "weekly", "rule": rule}


def _weekdays(schedule: dict) -> int:
    """The listing's `session_weekdays`, as the app stores it with its rules."""
    return session_weekdays([ScheduleRule.from_dict(schedule["rule"])])
