"""Benchmark merging parsed feed records into the database; prints records/s and memory.

    .venv/bin/python bench/ingest.py [--sizes 10000,100000] [--backends spatialite,postgis]

For each backend and size: a first load of N synthetic records (a feed of groups at a few
thousand venues, as a directory would publish) and a re-run of the same feed with no changes,
both through `assetmap.ingest.Ingestor` a page of 500 records at a time, committing each page
as a real run does. Records are generated lazily (a stream, as a feed is read), so the peak
memory shows whether ingest holds the feed. Not a test: it prints figures against targets.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import time as clock
from pathlib import Path

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from assetmap import create_app, db, migrate, vocab  # noqa: E402
from assetmap.config import TestConfig  # noqa: E402
from assetmap.db import session_scope  # noqa: E402
from assetmap.ingest import Ingestor  # noqa: E402
from assetmap.models import Source, utcnow  # noqa: E402
from assetmap.schedule import DAY_CODES, ScheduleRule  # noqa: E402
from scrapers.base import ActivityRecord, OrganisationRecord, VenueRecord  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PAGE = 500
TARGETS = {"first_postgis": 2000.0, "rerun": 5000.0}
CATEGORIES = sorted(vocab.CATEGORY_IDS - {"other"})
TAGS = sorted(vocab.TAG_IDS)


def records(n: int, seed: int = 7) -> Iterator[ActivityRecord]:
    """N groups at n/20 venues across Camden; the same stream for the same seed."""
    rng = np.random.default_rng(seed)
    venues = max(n // 20, 50)
    lats = rng.uniform(51.515, 51.580, venues)
    lons = rng.uniform(-0.210, -0.110, venues)
    for i in range(n):
        v = int(rng.integers(venues))
        day = DAY_CODES[i % 7]
        start = int(rng.integers(9, 19))
        yield ActivityRecord(
            source_type="openactive", external_id=f"item-{i}",
            name=f"{CATEGORIES[i % len(CATEGORIES)].replace('-', ' ').title()} {i}",
            source_url=f"https://feed.example.org/items/{i}",
            description="A friendly weekly group; newcomers welcome.",
            category=CATEGORIES[i % len(CATEGORIES)],
            schedules=(ScheduleRule("weekly", clock(start), clock(start + 1), days=(day,)),),
            venue=VenueRecord("openactive", f"venue-{v}", f"Hall {v}", f"{v} High Street",
                              None, round(float(lats[v]), 6), round(float(lons[v]), 6)),
            organisation=OrganisationRecord(f"Organiser {v % 500}"),
            cost_kind="free" if i % 3 == 0 else "unknown",
            tags=frozenset(rng.choice(TAGS, int(rng.integers(0, 3)), replace=False).tolist()),
        )


def database(backend: str, folder: Path) -> tuple[str, callable]:
    if backend == "spatialite":
        return f"sqlite:///{folder / 'ingest.sqlite'}", lambda: None
    name = f"assetmap_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION postgis")

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", drop


def run(app, source_id: int, n: int) -> tuple[float, dict, float]:
    """(records/s, summed counts, peak MB traced) for one pass over the feed."""
    totals: dict[str, int] = {}
    stream = records(n)
    tracemalloc.start()
    started = time.perf_counter()
    while True:
        page = [r for _, r in zip(range(PAGE), stream, strict=False)]
        if not page:
            break
        with session_scope(app) as session:
            source = session.get(Source, source_id)
            counts = Ingestor(session, source, data_dir=app.config["DATA_DIR"],
                              now=utcnow()).ingest(page)
        for key, value in counts.to_dict().items():
            totals[key] = totals.get(key, 0) + value
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return n / elapsed, totals, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="spatialite,postgis")
    args = parser.parse_args(argv)
    results: dict[str, float] = {}
    print(f"== ingest benchmark: pages of {PAGE} records, committed per page")
    for backend in args.backends.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                url, drop = database(backend, Path(tmp))
                try:
                    engine = db.make_engine(url)
                    migrate.upgrade(engine)
                    engine.dispose()
                    app = create_app(TestConfig(url))
                    with session_scope(app) as session:
                        source = Source(type="openactive", url="https://feed.example.org",
                                        name="bench feed", every_seconds=3600, state={})
                        session.add(source)
                        session.flush()
                        source_id = source.id
                    first, counts, peak1 = run(app, source_id, n)
                    again, recounts, peak2 = run(app, source_id, n)
                    db.dispose(app)
                finally:
                    drop()
            results[f"first_{backend}_{n}"] = first
            results[f"rerun_{backend}_{n}"] = again
            print(f"{backend:<10} {n:>7,} records  first load {first:7.0f} rec/s "
                  f"(created {counts.get('created', 0):,}, linked "
                  f"{counts.get('linked', 0):,}; peak {peak1:.0f} MB traced)   "
                  f"unchanged re-run {again:7.0f} rec/s (unchanged "
                  f"{recounts.get('unchanged', 0):,}; peak {peak2:.0f} MB)")
    print("== targets")
    for key, value in results.items():
        kind, backend, n = key.split("_")
        if kind == "first" and backend != "postgis":
            continue
        target = TARGETS["first_postgis" if kind == "first" else "rerun"]
        print(f"{'ok  ' if value >= target else 'MISS'} {kind:<6} {backend:<10} {int(n):>7,}"
              f"  {value:7.0f} rec/s  (target {target:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
