"""Every scraper type against one fault server, on both backends.

Each fault leaves stored data as it was (or applies whole pages only: the pages before the
fault in a paged feed), keeps the feed position at the first page not stored, and records why
in the run. A bad item is skipped and reported, or cleaned, and the rest of its page lands.
A run killed with SIGKILL does not block its source: the next run starts at once and carries
on from the last committed page.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from assetmap.db import session_scope
from assetmap.feeds.run import DEAD_RUN, add_source, run_source
from assetmap.models import Activity, ChangeRecord, ScrapeRun, Source, SourceLink, Venue
from scrapers.http import PoliteClient
from tests.scrapers.fault_feeds import (
    BAD_ITEM,
    FAULT_REASONS,
    HTML_REASON,
    HTTP_FAULTS,
    ITEM_FAULTS,
    LIMIT,
    PAGED,
    PAGING_FAULTS,
    READ_TIMEOUT,
    TYPES,
    FaultFeeds,
    name,
)

ROOT = Path(__file__).resolve().parents[2]


def faults_for(kind: str) -> tuple[str, ...]:
    """Every fault; paging faults only where there is paging (single documents have none)."""
    return HTTP_FAULTS + ITEM_FAULTS + (PAGING_FAULTS if kind in PAGED else ())


@pytest.fixture
def fault_client() -> Iterator[PoliteClient]:
    with PoliteClient(min_interval=0, retries=0, connect_timeout=2, read_timeout=READ_TIMEOUT,
                      max_bytes=LIMIT, max_redirects=3) as client:
        yield client


@pytest.fixture
def feeds_app(app):
    # An OSM extract may be large, so its scraper sets its own byte limit: the same as the
    # other types here.
    app.config["SCRAPER_OPTIONS"] = {"osm": {"max_bytes": LIMIT}}
    return app


def stored(app, source_id: int) -> dict:
    """What a failed run must leave alone: the names stored, the history, the position."""
    with session_scope(app) as s:
        source = s.get(Source, source_id)
        if source.type == "osm":  # a venue's name stays; its website carries the version
            names = [f"{venue_name.rsplit(' v', 1)[0]} v{website.rsplit('/v', 1)[1]}"
                     for venue_name, website in s.execute(select(Venue.name, Venue.website)
                                                          .where(Venue.osm_ref.is_not(None)))]
        else:
            names = s.scalars(select(Activity.name).join(
                SourceLink, SourceLink.activity_id == Activity.id).where(
                SourceLink.source_id == source_id)).all()
        return {"names": sorted(names),
                "history": s.scalar(select(func.count()).select_from(ChangeRecord)),
                "misses": s.scalar(select(func.coalesce(func.sum(SourceLink.missed_runs), 0))),
                "state": dict(source.state or {})}


def names_at(versions: list[int]) -> list[str]:
    return sorted(name(i, v) for i, v in enumerate(versions))


def add(app, kind: str, url: str) -> int:
    with session_scope(app) as s:
        return add_source(s, type=kind, url=url, name=f"faults {kind}").id


def reset_position(app, source_id: int) -> None:
    """Read the feed from its start again (a full re-read)."""
    with session_scope(app) as s:
        s.get(Source, source_id).state = {}


@pytest.mark.parametrize("kind", TYPES)
def test_every_fault_keeps_stored_data_and_says_why(feeds_app, feed_server, fault_client,
                                                    kind):
    """One source of the type lives through every fault in turn, each on a new version of
    the feed, with a clean run of that version after it (which must then store it whole)."""
    app = feeds_app
    feeds = FaultFeeds(feed_server, kind)
    feeds.publish(1)
    sid = add(app, kind, feeds.url)
    first = run_source(app, sid, client=fault_client)
    assert first.status == "ok", first.error
    assert stored(app, sid)["names"] == names_at([1, 1, 1, 1])
    for version, fault in enumerate(faults_for(kind), start=2):
        reset_position(app, sid)
        before = stored(app, sid)
        feeds.publish(version)
        feeds.inject(fault)
        run = run_source(app, sid, client=fault_client)
        check_fault_run(kind, fault, version, run, before, stored(app, sid))
        with session_scope(app) as s:
            latest = s.scalars(select(ScrapeRun).where(ScrapeRun.source_id == sid)
                               .order_by(ScrapeRun.id.desc())).first()
            assert (latest.status, latest.error) == (run.status, run.error), fault

        # Without the fault, the next run carries on (from the stored position, after a
        # failed run) and the feed is whole again.
        feeds.publish(version)
        if run.status == "ok":
            reset_position(app, sid)
        again = run_source(app, sid, client=fault_client)
        assert again.status == "ok", (fault, again.error)
        assert stored(app, sid)["names"] == names_at([version] * 4), fault


def check_fault_run(kind: str, fault: str, version: int, run: ScrapeRun, before: dict,
                    after: dict) -> None:
    previous = version - 1
    if fault in ITEM_FAULTS and kind != "osm":
        # The bad item is cleaned or skipped (and reported); the rest of its page lands.
        assert run.status == "ok", (fault, run.error)
        others = [name(i, version) for i in range(4) if i != BAD_ITEM]
        assert set(others) <= set(after["names"]), (fault, after["names"])
        (stored_bad,) = set(after["names"]) - set(others)
        assert "\x00" not in stored_bad and stored_bad.isprintable(), fault
        if fault == "nul":
            assert stored_bad == name(BAD_ITEM, version)  # only the NUL is gone
        elif kind in PAGED:  # JSON must be UTF-8: the item is skipped and reported
            assert stored_bad == name(BAD_ITEM, previous)
            assert any("not valid UTF-8" in issue["message"] for issue in run.issues)
        else:  # iCal and HTML readers decode bad bytes as U+FFFD
            assert stored_bad.startswith(name(BAD_ITEM, version)[:5]), stored_bad
            assert "\ufffd" in stored_bad and stored_bad.endswith(f" v{version}"), stored_bad
        return
    assert run.status == "failed", fault
    reason = {"html": HTML_REASON[kind]}.get(fault) or FAULT_REASONS.get(fault) or {
        "backwards": "goes back" if kind == "openactive" else "page 1 when page 2",
        "repeating": "repeats", "nul": "not a readable OSM extract",
        "bad-utf8": "not a readable OSM extract"}[fault]
    assert reason.lower() in run.error.lower(), (fault, run.error)
    if kind in PAGED:
        # Whole pages only: the first page landed with its position, the second did not.
        assert after["names"] == names_at([version, version, previous, previous]), fault
        assert run.counts["pages"] == 1, fault
        assert after["state"] and after["state"] != before["state"], fault
    else:
        assert after == before, fault


KILLED_RUNS = """
import sys
import threading
from assetmap import create_app
from assetmap.config import TestConfig
from assetmap.feeds.run import run_source
from scrapers.http import PoliteClient

app = create_app(TestConfig(sys.argv[1], SCRAPER_OPTIONS={"osm": {"max_bytes": 1 << 20}}))
for source_id in sys.argv[2:]:
    client = PoliteClient(min_interval=0, read_timeout=120, retries=0)
    threading.Thread(target=run_source, args=(app, int(source_id)), kwargs={"client": client},
                     daemon=True).start()
threading.Event().wait()
"""


def wait_for(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_a_killed_run_does_not_block_its_source(feeds_app, database_url, feed_server,
                                                fault_client):
    """One process runs a source of every type at once and is killed with SIGKILL in the
    middle of their downloads; the next run of each starts at once, without waiting, and
    carries on after the last page the killed run committed."""
    app = feeds_app
    sources: dict[str, tuple[FaultFeeds, int]] = {}
    for kind in TYPES:
        # Each type under its own path prefix on the one server.
        feeds = FaultFeeds(feed_server, kind, prefix=f"/{kind}")
        feeds.publish(1)
        path = feeds.fault_path
        good = feed_server.routes[path]
        # The first request for the page hangs (the killed process waits on it); later
        # requests are answered.
        feed_server.route(path, feed_server.reply(body=feeds.pages[path], delay=120, headers={
            "Content-Type": feeds.content_type}), *good)
        sources[kind] = (feeds, add(app, kind, feeds.url))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_RUNS, database_url,
         *[str(sid) for _, sid in sources.values()]],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: all(feed_server.hits(feeds.fault_path) for feeds, _ in
                             sources.values()) or process.poll() is not None)
        assert process.poll() is None, process.stdout.read()
        with session_scope(app) as s:
            assert set(s.scalars(select(ScrapeRun.status))) == {"running"}
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()

    for kind, (feeds, sid) in sources.items():
        started = time.monotonic()
        run = run_source(app, sid, client=fault_client)
        assert run.status == "ok", (kind, run.error)
        assert time.monotonic() - started < 10  # not two hours, nor a timeout
        with session_scope(app) as s:
            runs = s.scalars(select(ScrapeRun).where(ScrapeRun.source_id == sid)
                             .order_by(ScrapeRun.id)).all()
            assert [(r.status, r.error) for r in runs] == [("failed", DEAD_RUN), ("ok", None)]
        assert stored(app, sid)["names"] == names_at([1, 1, 1, 1]), kind
        if kind in PAGED:
            # Resumed after the page the killed run committed: that page was read only once.
            first_page = feeds.first_page_path
            assert len([r for r in feed_server.requests if r.path == first_page]) == 1, kind
            assert run.counts["pages"] >= 1 and run.counts["created"] == 2, kind
