"""Locks that die with their process: one per source run and one scheduler, per database."""

from __future__ import annotations

import pytest

from assetmap import create_app, db
from assetmap.config import TestConfig as AppConfig
from assetmap.errors import ConfigError, Conflict
from assetmap.feeds.locks import lock_file, scheduler_lock, source_run_lock
from assetmap.feeds.run import add_source, run_source
from assetmap.jobs.scheduler import single_instance


def test_a_source_run_lock_refuses_a_second_holder_until_released(app):
    with source_run_lock(app, 7) as held:
        assert held
        with source_run_lock(app, 7) as again:  # another thread or process: refused
            assert not again
        with source_run_lock(app, 8) as other:  # another source: its own lock
            assert other
    with source_run_lock(app, 7) as after:
        assert after


def test_a_run_of_a_source_another_run_holds_is_refused(app):
    with db.session_scope(app) as s:
        sid = add_source(s, type="ical", url="http://127.0.0.1:9/cal.ics").id
    with source_run_lock(app, sid) as held:
        assert held
        with pytest.raises(Conflict, match="already running"):
            run_source(app, sid)


def test_the_scheduler_lock_is_one_per_database(app, backend, tmp_path):
    with single_instance(app):
        second = single_instance(app)
        with pytest.raises(ConfigError, match="already running"):
            second.__enter__()
    if backend != "spatialite":
        return
    # Two deployments from one checkout (one instance folder), each with its own database,
    # do not block each other; the lock lives beside each database.
    other = create_app(AppConfig(f"sqlite:///{tmp_path / 'other' / 'assetmap.sqlite'}"))
    assert other.instance_path == app.instance_path
    assert lock_file(other, "scheduler") != lock_file(app, "scheduler")
    assert lock_file(other, "scheduler").parent.name == "assetmap.sqlite.locks"
    try:
        with scheduler_lock(app) as mine, scheduler_lock(other) as theirs:
            assert mine and theirs
    finally:
        db.dispose(other)
