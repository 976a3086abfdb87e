"""Benchmark merging parsed feed records into the database; prints records/s and memory.

    .venv/bin/python bench/ingest.py [--sizes 10000,100000] [--backends spatialite,postgis]

For each backend and size, in a fresh child process and a fresh database: a first load of N
synthetic records (a feed of groups at a few thousand venues, as a directory would publish),
a re-run of the same feed with no changes, and a re-run in which one record in 20 changed.
Then, beside those N listings, a second feed of 2,000 groups (half of them groups the first
feed lists, to be linked across sources: the cross-source matching path), and a first load
of N records into a database already holding 200 listings from another source (so every
record is checked against them, as in a deployment with people's own listings). The baseline, per
backend: a first load of 2,000 records set-wise and through `OneByOne`, which creates each
new listing through the ORM unit of work (the path before set-wise inserts), each into a new
database; their ratio is printed. Every pass goes through `assetmap.feeds.ingest.Ingestor` a page
of 500 records at a time, each page in its own write transaction committed at its end, as
`assetmap scrape` does.

Records are generated lazily, a page at a time (a stream, as a feed is read); the clock runs
while pages are merged and committed, not while the synthetic records are made (that stands
in for fetching and parsing). Memory is the child's resident set size sampled after every
page, less its size before the first page: flat as N grows means the feed is not held.
Not a test: it prints figures against targets.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import time as clock
from pathlib import Path

import numpy as np
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from walking import rss_mb  # noqa: E402

from assetmap import create_app, db, migrate, vocab  # noqa: E402
from assetmap.config import TestConfig  # noqa: E402
from assetmap.db import begin_write, session_scope  # noqa: E402
from assetmap.feeds.ingest import Ingestor  # noqa: E402
from assetmap.listings.changes import create_activity  # noqa: E402
from assetmap.models import Source, SourceLink, utcnow  # noqa: E402
from assetmap.schedule import DAY_CODES, ScheduleRule  # noqa: E402
from scrapers.records import ActivityRecord, OrganisationRecord, VenueRecord  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PAGE = 500
TARGETS = {"first_postgis": 2000.0, "rerun": 5000.0}
SECOND = 2000  # records in the second feed
BASELINE = 2000  # records loaded one by one for the baseline
OTHERS = 200  # listings from another source already there for the "beside others" first load
CATEGORIES = sorted(vocab.CATEGORY_IDS - {"other"})
TAGS = sorted(vocab.TAG_IDS)


def records(n: int, seed: int = 7, changed_every: int = 0) -> Iterator[ActivityRecord]:
    """N groups at n/20 venues across Camden; the same stream for the same seed.

    `changed_every`: every so many records carries a new description (a changed feed)."""
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
            description="A friendly weekly group; newcomers welcome." + (
                " Now with tea." if changed_every and i % changed_every == 0 else ""),
            category=CATEGORIES[i % len(CATEGORIES)],
            schedules=(ScheduleRule("weekly", clock(start), clock(start + 1), days=(day,)),),
            venue=VenueRecord("openactive", f"venue-{v}", f"Hall {v}", f"{v} High Street",
                              None, round(float(lats[v]), 6), round(float(lons[v]), 6)),
            organisation=OrganisationRecord(f"Organiser {v % 500}"),
            cost_kind="free" if i % 3 == 0 else "unknown",
            tags=frozenset(rng.choice(TAGS, int(rng.integers(0, 3)), replace=False).tolist()),
        )


def second_feed(n: int, count: int) -> Iterator[ActivityRecord]:
    """Another directory's `count` groups at the first feed's halls: every other one is a
    group the first feed lists (same name, hall and day: to be linked), the rest are new."""
    step = max(n // count, 1)
    for i, record in enumerate(records(n)):
        k, rest = divmod(i, step)
        if rest:
            continue
        if k >= count:
            break
        name = record.name if k % 2 == 0 else f"Friends of {record.name}"
        yield replace(record, source_type="openreferral", external_id=f"second-{k}",
                      name=name)


class OneByOne(Ingestor):
    """The baseline: each new listing through the ORM unit of work, as before set-wise
    inserts (`create_activity` and a SourceLink object per record)."""

    def _insert_new(self) -> None:
        new, self._new = self._new, []
        for record, fields, fingerprint in new:
            activity = create_activity(self.session, fields, self.actor, at=self.now)
            activity.last_seen_by_source_at = self.now
            self.session.add(SourceLink(**self.new_link(activity.id, record, fingerprint)))


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


def run(app, source_id: int, stream: Iterator[ActivityRecord],
        ingestor: type[Ingestor] = Ingestor) -> dict:
    """One pass over a feed: records/s, summed counts and the RSS growth (MB)."""
    totals: dict[str, int] = {}
    rss0 = peak = rss_mb()
    elapsed = 0.0
    n = 0
    while True:
        page = [r for _, r in zip(range(PAGE), stream, strict=False)]
        if not page:
            break
        n += len(page)
        started = time.perf_counter()
        with session_scope(app) as session:
            begin_write(session)
            source = session.get(Source, source_id)
            counts = ingestor(session, source, data_dir=app.config["DATA_DIR"],
                              now=utcnow()).ingest(page)
        elapsed += time.perf_counter() - started
        peak = max(peak, rss_mb())
        for key, value in counts.to_dict().items():
            totals[key] = totals.get(key, 0) + value
    return {"rate": n / elapsed, "counts": totals, "rss_mb": peak - rss0}


def add_source(app, name: str) -> int:
    with session_scope(app) as session:
        source = Source(type="openactive", url="https://feed.example.org", name=name,
                        every_seconds=3600, state={})
        session.add(source)
        session.flush()
        return source.id


@contextmanager
def fresh_app(backend: str) -> Iterator:
    """An app on a new, migrated database, dropped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        url, drop = database(backend, Path(tmp))
        try:
            engine = db.make_engine(url)
            migrate.upgrade(engine)
            engine.dispose()
            app = create_app(TestConfig(url))
            yield app
            db.dispose(app)
        finally:
            drop()


def measure(backend: str, n: int) -> dict:
    """Into a new database: a first load of N records, an unchanged re-run, a 5%-changed
    re-run, then a second feed of 2,000 records beside those N listings."""
    with fresh_app(backend) as app:
        first = add_source(app, "bench feed")
        return {"first": run(app, first, records(n)),
                "rerun": run(app, first, records(n)),
                "changed": run(app, first, records(n, changed_every=20)),
                "second": run(app, add_source(app, "second feed"), second_feed(n, SECOND))}


def beside_others(backend: str, n: int) -> dict:
    """A first load of N records into a new database that already holds 200 listings from
    another source, so every new record goes through cross-source matching."""
    with fresh_app(backend) as app:
        run(app, add_source(app, "a small directory"), (
            replace(r, external_id=f"other-{r.external_id}", name=f"Other {r.name}")
            for r in records(OTHERS, seed=3)))
        return {"first": run(app, add_source(app, "bench feed"), records(n))}


def baseline(backend: str, n: int) -> dict:
    """A first load of the same N records into two new databases: set-wise, and through the
    one-by-one baseline."""
    passes = {}
    for kind, ingestor in (("setwise", Ingestor), ("baseline", OneByOne)):
        with fresh_app(backend) as app:
            passes[kind] = run(app, add_source(app, "bench feed"), records(n), ingestor)
    return passes


def child(backend: str, n: int, what: str = "measure") -> dict:
    """`measure` (or `baseline`) in a new process, so each starts from the same memory."""
    out = subprocess.run([sys.executable, __file__, "--child", f"{what}:{backend}:{n}"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def line(backend: str, n: int, label: str, figures: dict) -> str:
    counts = ", ".join(f"{k} {v:,}" for k, v in figures["counts"].items() if v)
    return (f"{backend:<10} {n:>7,}  {label:<18} {figures['rate']:7.0f} rec/s   "
            f"RSS +{figures['rss_mb']:5.1f} MB   ({counts})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="spatialite,postgis")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        what, backend, n = args.child.split(":")
        jobs = {"measure": measure, "beside": beside_others, "baseline": baseline}
        print(json.dumps(jobs[what](backend, int(n))))
        return 0
    results: dict[tuple[str, str, int], float] = {}
    print(f"== ingest benchmark: pages of {PAGE} records, each committed; records/s of merging")
    for backend in args.backends.split(","):
        for n in (int(x) for x in args.sizes.split(",")):
            passes = child(backend, n)
            for kind, label in (("first", "first load"), ("rerun", "unchanged re-run"),
                                ("changed", "5% changed re-run"),
                                ("second", f"second feed {SECOND:,}")):
                figures = passes[kind]
                results[(kind, backend, n)] = figures["rate"]
                print(line(backend, n, label, figures), flush=True)
            print(line(backend, n, f"first, {OTHERS} others", child(backend, n, "beside")["first"]),
                  flush=True)
        passes = child(backend, BASELINE, "baseline")
        print(line(backend, BASELINE, "first, one by one", passes["baseline"]))
        print(line(backend, BASELINE, "first, set-wise", passes["setwise"]))
        print(f"{backend:<10} set-wise first load vs one by one (the baseline, same run): "
              f"{passes['setwise']['rate'] / passes['baseline']['rate']:.1f}x", flush=True)
    print("== targets")
    for (kind, backend, n), value in results.items():
        if kind not in ("first", "rerun") or (kind == "first" and backend != "postgis"):
            continue
        target = TARGETS["first_postgis" if kind == "first" else "rerun"]
        print(f"{'ok  ' if value >= target else 'MISS'} {kind:<6} {backend:<10} {n:>7,}"
              f"  {value:7.0f} rec/s  (target {target:g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
