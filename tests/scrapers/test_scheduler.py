"""`assetmap scheduler` as a real process beside a multi-worker web server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.feeds.run import add_source
from assetmap.models import ScrapeRun, Source, utcnow
from tests.conftest import assetmap_serve


def test_scheduler_runs_each_due_source_once_beside_web_workers(app, database_url,
                                                                feed_server, tmp_path):
    feed_server.serve("/cal.ics", "ical/camden-community.ics", content_type="text/calendar")
    feed_server.serve("/events.html", "html/camden-community-events.html",
                      content_type="text/html")
    with session_scope(app) as s:
        due = add_source(s, type="ical", url=feed_server.url("/cal.ics"), every="1h")
        missed = add_source(s, type="jsonld", url=feed_server.url("/events.html"), every="1h")
        later = add_source(s, type="ical", url=feed_server.url("/cal.ics"), every="1d")
        # The scheduler was down: a run was missed an hour ago; it runs once on start.
        s.get(Source, missed.id).last_run_at = utcnow() - timedelta(hours=2)
        # Ran recently: not due for a day.
        s.get(Source, later.id).last_run_at = utcnow() - timedelta(minutes=5)
        ids = (due.id, missed.id, later.id)
    env = dict(os.environ, ASSETMAP_DATABASE_URL=database_url,
               ASSETMAP_SECRET_KEY="scheduler-test", PYTHONUNBUFFERED="1")
    # Three web workers are up before the scheduler starts.
    with assetmap_serve(env, workers=3, log_path=tmp_path / "serve.log"):
        scheduler = subprocess.Popen([sys.executable, "-m", "assetmap", "scheduler"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with session_scope(app) as s:
                    done = s.scalars(select(ScrapeRun).where(ScrapeRun.status != "running")).all()
                if len(done) >= 2:
                    break
                time.sleep(0.5)
            time.sleep(3)  # room for a duplicate run, if there were going to be one
            second = subprocess.run([sys.executable, "-m", "assetmap", "scheduler"], env=env,
                                    capture_output=True, text=True, timeout=60)
            assert second.returncode == 1
            assert "already running" in second.stderr
            with session_scope(app) as s:
                runs = s.scalars(select(ScrapeRun)).all()
                per_source = {sid: [r for r in runs if r.source_id == sid] for sid in ids}
            assert [len(per_source[sid]) for sid in ids] == [1, 1, 0]
            assert all(r.status == "ok" for r in runs), [(r.status, r.error) for r in runs]
        finally:
            scheduler.terminate()
            scheduler.wait(timeout=20)
