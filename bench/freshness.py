"""Benchmark the coordinators' freshness summary, work queue and coverage, and print figures.

    .venv/bin/python bench/freshness.py [--listings 100000] [--events 1000000] [--venues 20000]
                                        [--backends postgis,spatialite] [--repeat 30]

For each backend: a throwaway database (PostGIS: created from ASSETMAP_BENCH_PG_ADMIN_URL,
default postgresql://postgres@127.0.0.1/postgres, and dropped afterwards; SpatiaLite: a temp
file) with Camden's wards, `--venues` random venues inside them, `--listings` listings and
`--events` verification events, bulk-inserted with SQLAlchemy Core executemany (COPY on
PostGIS). Then: the freshness job's full recompute, the p95 of the summary (by state, by
category, by ward) and of the first queue page, the same through GET /api/v1/freshness, and the
time to compute coverage for every Camden ward over the walking network built from
data/osm/camden.osm.pbf. Not a test: it prints figures and which targets are met.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assetmap import create_app, db, migrate, vocab  # noqa: E402
from assetmap.config import TestConfig  # noqa: E402

PG_ADMIN = os.environ.get("ASSETMAP_BENCH_PG_ADMIN_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")
OSM = REPO / "data" / "osm" / "camden.osm.pbf"
TARGETS = {"summary_p95_ms": 300.0, "queue_p95_ms": 300.0, "coverage_s": 30.0}
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
METHODS = (("source-seen", 40), ("connector-visited", 12), ("phoned", 12),
           ("organiser-confirmed", 10), ("coordinator-checked", 6), ("client-attended", 6),
           ("source-assured", 8), ("imported", 4), ("community-suggested", 2))


def p95(samples: list[float]) -> float:
    return float(np.percentile(samples, 95))


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


# -- data ----------------------------------------------------------------------------------

def random_points(wards: list, n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Uniform random (lat, lon) points inside the wards."""
    import shapely

    union = shapely.union_all([w.geometry for w in wards])
    shapely.prepare(union)
    min_x, min_y, max_x, max_y = union.bounds
    points: list[tuple[float, float]] = []
    while len(points) < n:
        xs = np.array([rng.uniform(min_x, max_x) for _ in range(n)])
        ys = np.array([rng.uniform(min_y, max_y) for _ in range(n)])
        inside = shapely.contains_xy(union, xs, ys)
        points.extend(zip(ys[inside].tolist(), xs[inside].tolist(), strict=True))
    return points[:n]


def generate(n_listings: int, n_events: int, n_venues: int, points: list,
             rng: random.Random) -> dict[str, list[dict]]:
    """Rows for venues, activities, verification events, one source and its links."""
    categories = sorted(vocab.CATEGORY_IDS)
    methods = [m for m, _ in METHODS]
    weights = [w for _, w in METHODS]
    venues = [{"id": i + 1, "name": f"Venue {i + 1}", "geom": f"SRID=4326;POINT({lon} {lat})",
               "location_approximate": False, "demo": False, "created_at": NOW,
               "updated_at": NOW} for i, (lat, lon) in enumerate(points[:n_venues])]
    activities, events, links = [], [], []
    per = n_events // n_listings
    extra = n_events - per * n_listings
    event_id = 0
    for i in range(n_listings):
        created = NOW - timedelta(days=rng.randint(30, 1500))
        count = per + (1 if i < extra else 0)
        last_human = last_seen = None
        method_human = None
        for _ in range(count):
            method = rng.choices(methods, weights)[0]
            at = NOW - timedelta(days=rng.uniform(0, 900))
            event_id += 1
            events.append({"id": event_id, "activity_id": i + 1, "verified_at": at,
                           "method": method, "actor_type": "user", "note_private": True,
                           "recorded_at": at})
            if method == "source-seen":
                last_seen = max(last_seen or at, at)
            elif last_human is None or at >= last_human:
                last_human, method_human = at, method
        roll = rng.random()
        activities.append({
            "id": i + 1, "name": f"Listing {i + 1}", "category": rng.choice(categories),
            "venue_id": rng.randint(1, n_venues), "mode": "in-person", "cost_kind": "unknown",
            "gender": "any",
            "status": "active" if roll < 0.9 else "paused" if roll < 0.95 else "ended",
            "contact_email": f"org{i + 1}@example.org",
            "last_verified_at": last_human, "last_verified_method": method_human,
            "last_seen_by_source_at": last_seen, "field_provenance": {},
            "possibly_closed": rng.random() < 0.01, "demo": False, "version": 1,
            "created_at": created, "updated_at": created})
        if rng.random() < 0.2:
            links.append({"activity_id": i + 1, "source_id": 1, "external_id": f"ext-{i}",
                          "first_seen_at": created, "last_seen_at": last_seen or created,
                          "missed_runs": 3 if rng.random() < 0.05 else 0, "withdrawn": False,
                          "disagreements": {}})
    source = [{"id": 1, "type": "openreferral", "url": "https://example.org/services",
               "name": "Bench directory", "every_seconds": 21600, "enabled": True,
               "complete_list": True, "state": {}, "created_at": NOW, "updated_at": NOW}]
    return {"venues": venues, "activities": activities, "verification_events": events,
            "sources": source, "source_links": links}


def insert(engine, rows: dict[str, list[dict]]) -> None:
    from assetmap.models import Base

    tables = Base.metadata.tables
    for name in ("venues", "sources", "activities", "source_links", "verification_events"):
        data = rows[name]
        if engine.dialect.name == "postgresql" and name == "verification_events":
            _copy_events(engine, data)
            continue
        with engine.begin() as conn:
            for start in range(0, len(data), 20_000):
                conn.execute(tables[name].insert(), data[start:start + 20_000])
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in ("venues", "sources", "activities", "verification_events"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))")


def _copy_events(engine, events: list[dict]) -> None:
    """COPY is several times faster than executemany for a million rows."""
    buffer = io.StringIO()
    for e in events:
        buffer.write(f"{e['id']}\t{e['activity_id']}\t{e['verified_at'].isoformat()}\t"
                     f"{e['method']}\tuser\tt\t{e['recorded_at'].isoformat()}\n")
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cursor, cursor.copy(
                "COPY verification_events (id, activity_id, verified_at, method, actor_type, "
                "note_private, recorded_at) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        raw.commit()
    finally:
        raw.close()


# -- one backend ---------------------------------------------------------------------------

def run_backend(backend: str, args: argparse.Namespace, network_dir: Path) -> dict:
    import psycopg

    name = None
    tmp = tempfile.TemporaryDirectory()
    if backend == "postgis":
        name = f"assetmap_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        admin = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
        url = (f"postgresql+psycopg://{admin.get('user', 'postgres')}@"
               f"{admin.get('host', '127.0.0.1')}:{admin.get('port', 5432)}/{name}")
    else:
        url = f"sqlite:///{tmp.name}/bench.sqlite"
    try:
        return _measure(url, backend, args, network_dir)
    finally:
        if name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        tmp.cleanup()


def _measure(url: str, backend: str, args: argparse.Namespace, network_dir: Path) -> dict:
    from assetmap.coverage import gaps as coverage
    from assetmap.db import session_scope
    from assetmap.demo import load_areas
    from assetmap.freshness import due
    from assetmap.freshness import queue as fq
    from assetmap.walking import NetworkRegistry
    from assetmap.web.serving import prepare_to_serve

    engine = db.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(TestConfig(url, NETWORK_DIR=network_dir, FRESHNESS_NOW=NOW))
    prepare_to_serve(app)  # as `assetmap serve` readies its workers
    figures: dict = {"backend": backend}
    rng = random.Random(7)
    with session_scope(app) as session:
        load_areas(session, app.config["DATA_DIR"])
    with session_scope(app) as session:
        wards = coverage.wards(session)
    start = time.perf_counter()
    rows = generate(args.listings, args.events, args.venues,
                    random_points(wards, args.venues, rng), rng)
    figures["generate_s"] = time.perf_counter() - start
    engine = db.get_engine(app)
    start = time.perf_counter()
    insert(engine, rows)
    figures["insert_s"] = time.perf_counter() - start
    del rows
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    with app.app_context():
        with session_scope(app) as session:
            start = time.perf_counter()
            report = due.recompute(session, now=NOW, rules=due.current_rules())
            figures["recompute_s"] = time.perf_counter() - start
            figures["states"] = report.by_state
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        with session_scope(app) as session:
            flt = fq.QueueFilter()
            figures["summary_ms"] = timed(lambda: fq.summary(session, flt, now=NOW),
                                          args.repeat)
            figures["queue_ms"] = timed(lambda: fq.queue(session, flt, now=NOW), args.repeat)
            ward = fq.QueueFilter.checked(session, area="Kilburn")
            figures["queue_ward_ms"] = timed(lambda: fq.queue(session, ward, now=NOW),
                                             args.repeat)
    client = app.test_client()
    _login(app, client)
    figures["api_ms"] = timed(lambda: _ok(client.get("/api/v1/freshness")),
                              max(5, args.repeat // 3))
    with session_scope(app) as session:
        start = time.perf_counter()
        run = coverage.run(session, NetworkRegistry(network_dir), now=NOW)
        figures["coverage_s"] = time.perf_counter() - start
        figures["coverage_rows"] = len(run.results)
        figures["coverage_wards"] = len({r.area_id for r in run.results})
    db.dispose(app)
    return figures


def _login(app, client) -> None:
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    with session_scope(app) as session:
        user = create_user(session, email="bench@example.org", role="coordinator",
                           password="bench password")
        signed_in_as = user.get_id()  # the id and session version, as a sign-in keeps them
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = signed_in_as
        flask_session["_fresh"] = True


def _ok(response):
    """A timed answer must be the real one, not a refusal (a bench once timed a 401)."""
    assert response.status_code == 200, (response.status_code, response.get_data(as_text=True))
    return response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--venues", type=int, default=20_000)
    parser.add_argument("--backends", default="postgis,spatialite")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    from assetmap.walking import NetworkRegistry

    with tempfile.TemporaryDirectory() as networks:
        start = time.perf_counter()
        NetworkRegistry(Path(networks)).build(OSM, "camden")
        print(f"camden walking network built in {time.perf_counter() - start:.1f} s")
        for backend in args.backends.split(","):
            f = run_backend(backend.strip(), args, Path(networks))
            print(f"\n== {f['backend']}: {args.listings:,} listings, {args.events:,} "
                  f"verification events, {args.venues:,} venues")
            print(f"  generate {f['generate_s']:.1f} s, bulk insert {f['insert_s']:.1f} s, "
                  f"freshness recompute (job) {f['recompute_s']:.1f} s")
            print(f"  states now: {f['states']}")
            for key, label in (("summary_ms", "summary (by state, category, ward)"),
                               ("queue_ms", "first queue page (50)"),
                               ("queue_ward_ms", "first queue page, one ward"),
                               ("api_ms", "GET /api/v1/freshness (both)")):
                print(f"  {label:<38} p50 {statistics.median(f[key]):7.1f} ms   "
                      f"p95 {p95(f[key]):7.1f} ms")
            print(f"  coverage, {f['coverage_wards']} wards x (any + "
                  f"{len(vocab.CATEGORY_IDS)} categories): {f['coverage_s']:.1f} s")
            if f["backend"] == "postgis":
                for key, target in (("summary_ms", "summary_p95_ms"),
                                    ("queue_ms", "queue_p95_ms")):
                    ok = p95(f[key]) <= TARGETS[target]
                    print(f"  target {target} <= {TARGETS[target]:.0f}: "
                          f"{'met' if ok else 'NOT met'}")
            ok = f["coverage_s"] <= TARGETS["coverage_s"]
            print(f"  target coverage_s <= {TARGETS['coverage_s']:.0f}: "
                  f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
