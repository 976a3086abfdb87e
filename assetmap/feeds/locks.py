"""Locks held by a live process (one run of a source, the scheduler), one set per database.

A lock dies with its process, however it ends (SIGKILL, a reboot): PostgreSQL drops a
session's advisory locks when its connection closes, and the kernel drops a `flock` when the
file is closed. So a run still marked "running" whose lock is free has died, and the next run
starts at once from the last committed page instead of waiting for a timeout.

On SQLite the lock files live beside the database file (`<database>.locks/`), not in the app's
instance folder, so two deployments from one checkout with different databases never block
each other, and two processes using one database always see the same locks.
"""

from __future__ import annotations

import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assetmap.db import get_engine

SCHEDULER_KEY = 0x61737365  # "asse": the scheduler's one-number advisory lock
SOURCE_RUN_SPACE = 0x6173  # first number of a source run's two-number advisory lock


def lock_dir(app: Flask) -> Path:
    """The folder of a SQLite database's lock files: beside the database file; for a database
    without a file (in memory), in the instance folder under a name made from its URL."""
    url = make_url(app.config["DATABASE_URL"])
    if url.database and url.database != ":memory:":
        path = Path(url.database).resolve()
        return path.parent / f"{path.name}.locks"
    digest = hashlib.sha256(url.render_as_string().encode()).hexdigest()[:16]
    return Path(app.instance_path) / "locks" / digest


def lock_file(app: Flask, name: str) -> Path:
    return lock_dir(app) / f"{name}.lock"


@contextmanager
def process_lock(app: Flask, name: str, key: tuple[int, ...], *,
                 grace: float = 0.0) -> Iterator[bool]:
    """Try to take the lock `name` (a file on SQLite) / `key` (an advisory lock on
    PostgreSQL); yields whether this process now holds it, until the end of the block.
    Another thread of this process asking for the same lock is refused too. `grace` seconds
    are allowed for a holder that has just died (PostgreSQL ends its session a moment after
    the process) before the answer is no."""
    deadline = time.monotonic() + grace
    while True:
        with _try_lock(app, name, key) as held:
            if held or time.monotonic() >= deadline:
                yield held
                return
        time.sleep(0.05)


@contextmanager
def _try_lock(app: Flask, name: str, key: tuple[int, ...]) -> Iterator[bool]:
    engine = get_engine(app)
    if engine.dialect.name == "postgresql":
        kind = "bigint" if len(key) == 1 else "integer"  # the two forms PostgreSQL has
        placeholders = ", ".join(f"CAST(:k{i} AS {kind})" for i in range(len(key)))
        params = {f"k{i}": value for i, value in enumerate(key)}
        # Autocommit: the connection is held for the whole run, and must not sit "idle in
        # transaction" all that time.
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        held = False
        try:
            held = bool(conn.execute(text(f"SELECT pg_try_advisory_lock({placeholders})"),
                                     params).scalar())
            yield held
        finally:
            try:
                if held:
                    conn.execute(text(f"SELECT pg_advisory_unlock({placeholders})"), params)
            except Exception:
                conn.invalidate()  # never hand a connection still holding the lock to the pool
                raise
            finally:
                conn.close()
        return
    path = lock_file(app, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def source_run_lock(app: Flask, source_id: int):
    """The lock a run of one source holds while it runs (see `process_lock`)."""
    return process_lock(app, f"source-{source_id}", (SOURCE_RUN_SPACE, source_id), grace=2.0)


def scheduler_lock(app: Flask):
    """The lock the one scheduler process holds for its whole life (see `process_lock`)."""
    return process_lock(app, "scheduler", (SCHEDULER_KEY,))
