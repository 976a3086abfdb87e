"""The one scheduler process: runs every enabled source on its schedule, sends the outbox.

Run exactly one (`assetmap scheduler`), however many web workers there are; a lock (a file
lock on SpatiaLite, an advisory lock on PostGIS) refuses a second one. Schedules come from the
`sources` table, re-read every minute, so no job store is needed: a source whose last run is
older than its interval (the scheduler was down) runs once as soon as it is back, and
`max_instances=1` keeps a source from running twice at once.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import select

from assetmap.community.outbox import send_pending
from assetmap.db import get_engine, session_scope
from assetmap.errors import ConfigError
from assetmap.feeds import run as scraping
from assetmap.feeds.locks import lock_file, scheduler_lock
from assetmap.jobs.daily import run_daily
from assetmap.models import Source, utcnow

log = logging.getLogger("assetmap.scheduler")
SYNC_SECONDS = 60


@contextmanager
def single_instance(app: Flask):
    """Hold the scheduler lock for the life of the process, or refuse to start.

    One lock per database (feeds.locks): on SQLite a file beside the database, so two
    deployments with their own databases never block each other."""
    with scheduler_lock(app) as held:
        if not held:
            where = ("this database" if get_engine(app).dialect.name == "postgresql"
                     else f"this database (lock {lock_file(app, 'scheduler')})")
            raise ConfigError(f"another assetmap scheduler is already running against {where}")
        yield


def run_scheduled_source(source_id: int) -> None:
    """Job entry point (a module:function reference, as APScheduler stores jobs)."""
    app = _APP["app"]
    run = scraping.run_source(app, source_id)
    log.info("source %s run %s: %s %s", source_id, run.id, run.status, run.error or run.counts)


def send_outbox() -> None:
    app = _APP["app"]
    with session_scope(app) as session:
        sent, failed = send_pending(session, app.config)
    if sent or failed:
        log.info("outbox: %s sent, %s not sent", sent, failed)


def run_freshness() -> None:
    """The daily freshness job: due dates, organiser reminders, digests, coverage."""
    for line in run_daily(_APP["app"]).lines():
        log.info("%s", line)


_APP: dict[str, Flask] = {}


def sync_jobs(scheduler: BlockingScheduler, app: Flask) -> None:
    """Make the scheduler's source jobs match the sources table."""
    now = utcnow()
    with session_scope(app) as session:
        sources = session.scalars(select(Source)).all()
        wanted = {f"source-{s.id}": s for s in sources if s.enabled}
    for job in scheduler.get_jobs():
        if job.id.startswith("source-") and job.id not in wanted:
            job.remove()
    for job_id, source in wanted.items():
        job = scheduler.get_job(job_id)
        every = timedelta(seconds=source.every_seconds)
        if job is not None and job.trigger.interval == every:
            continue
        due = (source.last_run_at + every) if source.last_run_at else now
        scheduler.add_job(
            f"{__name__}:run_scheduled_source", "interval",
            seconds=source.every_seconds, args=[source.id], id=job_id, replace_existing=True,
            next_run_time=max(due, now), max_instances=1, coalesce=True,
            misfire_grace_time=None, name=f"{source.type} {source.name}")


def build_scheduler(app: Flask) -> BlockingScheduler:
    _APP["app"] = app
    scheduler = BlockingScheduler(timezone="UTC", job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})
    scheduler.add_job(sync_jobs, "interval", seconds=SYNC_SECONDS, args=[scheduler, app],
                      id="sync-sources", next_run_time=utcnow())
    scheduler.add_job(f"{__name__}:send_outbox", "interval", seconds=60,
                      id="send-outbox", next_run_time=utcnow())
    # Daily, and soon after every start: each step is safe to repeat (see jobs.daily).
    scheduler.add_job(f"{__name__}:run_freshness", "interval", hours=24,
                      id="freshness", next_run_time=utcnow() + timedelta(minutes=2))
    return scheduler
