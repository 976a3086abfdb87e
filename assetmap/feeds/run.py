"""Running a source: fetch page by page, merge, and record the run.

Each page's records and the source's position in the feed commit together, so a run killed
halfway leaves the database consistent and the next run resumes after the last whole page.
A failing fetch (HTTP error, timeout, invalid JSON, HTML where JSON was expected, a truncated
body) rolls back the page in hand, changes nothing else, and marks the run failed with the
reason, where coordinators see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap.db import begin_write, session_scope
from assetmap.errors import Conflict, NotFound, ValidationError
from assetmap.feeds.ingest import IngestCounts, Ingestor
from assetmap.feeds.locks import source_run_lock
from assetmap.models import ScrapeRun, Source, utcnow
from scrapers import SCRAPERS
from scrapers.http import PoliteClient
from scrapers.records import ScrapeError, printable

# Feeds that publish their whole list each run, so a missing item means something.
FULL_LIST_TYPES = frozenset({"openreferral", "ical", "jsonld", "osm"})
DEAD_RUN = ("the process running it stopped before it finished (killed, or the machine "
            "restarted); the next run carried on from the last page it stored")
MAX_ISSUES_KEPT = 200


def parse_every(raw: str) -> int:
    """'6h', '30m', '1d', '3600' -> seconds; at least five minutes."""
    text = (raw or "").strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    except (ValueError, KeyError):
        raise ValidationError("every", f"{raw!r}: write e.g. 30m, 6h or 1d") from None
    if seconds < 300:
        raise ValidationError("every", "sources run at most every 5 minutes (5m)")
    return seconds


def add_source(session: Session, *, type: str, url: str, name: str | None = None,
               every: str = "6h") -> Source:
    if type not in SCRAPERS:
        raise ValidationError("type", f"unknown source type {type!r}", allowed=sorted(SCRAPERS))
    if not url.startswith(("http://", "https://")) and not (type == "osm"):
        raise ValidationError("url", f"{url!r} is not an http(s) URL")
    source = Source(type=type, url=url, name=name or url, every_seconds=parse_every(every),
                    enabled=True, complete_list=type in FULL_LIST_TYPES, state={})
    session.add(source)
    session.flush()
    return source


def _start_run(app: Flask, source_id: int) -> tuple[int, dict, str, str]:
    """Called holding the source's run lock: a run still marked "running" has died."""
    with session_scope(app) as session:
        begin_write(session)
        source = session.get(Source, source_id)
        if source is None:
            raise NotFound(f"no source with id {source_id}")
        for dead in session.scalars(select(ScrapeRun).where(
                ScrapeRun.source_id == source_id, ScrapeRun.status == "running")):
            dead.status = "failed"
            dead.error = DEAD_RUN
            dead.finished_at = utcnow()
        run = ScrapeRun(source_id=source_id, status="running", counts={}, issues=[])
        session.add(run)
        session.flush()
        return run.id, dict(source.state or {}), source.type, source.url


def run_source(app: Flask, source_id: int, *, client: PoliteClient | None = None,
               progress: Callable[[str], Any] | None = None) -> ScrapeRun:
    """One run of one source now, in this process. Returns the finished run.

    The run holds the source's lock (feeds.locks) from start to finish: a second run of
    the source is refused while this process lives, and allowed at once if it dies.
    """
    with source_run_lock(app, source_id) as held:
        if not held:
            raise Conflict(f"source {source_id} is already running")
        return _run_locked(app, source_id, client=client, progress=progress)


def _run_locked(app: Flask, source_id: int, *, client: PoliteClient | None,
                progress: Callable[[str], Any] | None) -> ScrapeRun:
    run_id, state, source_type, url = _start_run(app, source_id)
    # Per-type scraper settings, e.g. {"osm": {"max_bytes": ...}}.
    scraper = SCRAPERS[source_type](**app.config.get("SCRAPER_OPTIONS", {}).get(source_type, {}))
    totals = IngestCounts()
    started = utcnow()
    own_client = client is None
    client = client or PoliteClient(**app.config.get("SCRAPER_CLIENT_OPTIONS", {}))
    pages = 0
    error: str | None = None
    try:
        for page in scraper.fetch(client, url, state):
            with session_scope(app) as session:
                begin_write(session)
                source = session.get_one(Source, source_id)
                ingestor = Ingestor(session, source, data_dir=app.config["DATA_DIR"],
                                    now=utcnow())
                counts = ingestor.ingest(scraper.parse(page.raw, base_url=page.url))
                source.state = dict(page.state)
            totals.add(counts)
            pages += 1
            if progress:
                progress(f"page {pages}: {page.url} — " + ", ".join(
                    f"{v} {k}" for k, v in counts.to_dict().items() if v))
    except ScrapeError as exc:
        error = str(exc)
    except Exception as exc:  # a bug or a database error: the run must still say it failed
        app.logger.exception("source %s run %s failed", source_id, run_id)
        error = f"internal error ({type(exc).__name__}: {exc}); see the scheduler log"
    finally:
        if own_client:
            client.close()
    with session_scope(app) as session:
        begin_write(session)
        source = session.get_one(Source, source_id)
        run = session.get_one(ScrapeRun, run_id)
        closed = 0
        if error is None:
            complete = source.complete_list and source_type in FULL_LIST_TYPES and not (
                state.get("modified_after"))
            closed = Ingestor(session, source, data_dir=app.config["DATA_DIR"],
                              now=utcnow()).finish(started, complete=complete and pages > 0)
        run.status = "failed" if error else "ok"
        run.error = printable(error) if error else None  # it may quote the feed's bad bytes
        run.finished_at = utcnow()
        run.counts = totals.to_dict() | {"pages": pages, "possibly_closed": closed}
        run.issues = [{k: printable(v) if isinstance(v, str) else v for k, v in issue.items()}
                      for issue in totals.issues[:MAX_ISSUES_KEPT]]
        source.last_run_at = run.finished_at
        session.flush()
        session.expunge(run)
    return run
