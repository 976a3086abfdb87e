"""Engine and sessions for both backends: SpatiaLite (embedded default) and PostGIS.

Python builds from pyenv and some macOS builds cannot load SQLite extensions with the standard
library, so SQLite connections go through `sqlean` (a bundled SQLite with extension loading)
and load `mod_spatialite` on connect.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CursorResult,
    Engine,
    Select,
    Table,
    any_,
    bindparam,
    create_engine,
    event,
    insert,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import QueryableAttribute, Session, sessionmaker

from assetmap.errors import ConfigError


@functools.cache
def _load_geo_wheels_first() -> None:
    """Load pyproj's and pyogrio's own PROJ, SQLite and GDAL before mod_spatialite loads the
    system's: loaded the other way round, the two copies' symbols clash and the process's heap
    is corrupted ("double free or corruption" at exit). Once per process, on the first
    SpatiaLite connection, so `import assetmap` stays light."""
    import pyogrio  # noqa: F401
    import pyproj  # noqa: F401


SPATIALITE_HELP = ("SpatiaLite (mod_spatialite) could not be loaded: install it with "
                   "'apt-get install libsqlite3-mod-spatialite' (Debian/Ubuntu) or "
                   "'brew install libspatialite' (macOS), or set SPATIALITE_LIBRARY_PATH to "
                   "the library's path")


SQLITE_MMAP_BYTES = 1 << 30  # a ceiling: SQLite maps no more than the file


def _load_spatialite(dbapi_conn, _record) -> None:
    _load_geo_wheels_first()
    library = os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")
    dbapi_conn.enable_load_extension(True)
    try:
        dbapi_conn.load_extension(library)
    except Exception as exc:  # sqlean raises its own OperationalError class
        raise ConfigError(f"{SPATIALITE_HELP} ({exc})") from exc
    finally:
        dbapi_conn.enable_load_extension(False)
    # WGS84-only metadata: a few ms instead of ~20 s for every EPSG code (PITFALLS.md).
    if dbapi_conn.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
        dbapi_conn.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute("PRAGMA busy_timeout = 10000")
    dbapi_conn.execute("PRAGMA journal_mode = WAL")
    dbapi_conn.execute("PRAGMA synchronous = NORMAL")
    # Read the file through the OS's shared page cache instead of copying pages into each
    # connection's own 2 MB cache: a search reads listings scattered over the whole table.
    dbapi_conn.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`, checked by connecting once; ConfigError with advice otherwise."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(
            f"ASSETMAP_DATABASE_URL {url!r} is not a database URL; use e.g. "
            "'sqlite:///instance/assetmap.sqlite' or "
            "'postgresql+psycopg://user@host/dbname'") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        import sqlean

        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed.set(drivername="sqlite+pysqlite"), module=sqlean,
                               echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _load_spatialite)
    elif backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        # psycopg prepares a statement run five times, and PostgreSQL may then settle on a
        # generic plan chosen without the parameters: for the IN lists of a feed page over a
        # freshly loaded table that plan was 20x slower. Our statements are planned for
        # their values; the server's own cached plans (foreign-key checks) are left alone.
        # Sessions in UTC, whatever the server's default: datetimes come back in UTC as they
        # are stored (models.base.UTCDateTime relies on it). A random page read costed as
        # on SSD or in memory, where a place's listings live, not PostgreSQL's spinning-disk
        # default (4): with it, fifty listings and their venues were read by hashing every
        # venue (4 ms) instead of fifty index lookups (0.5 ms).
        engine = create_engine(parsed, echo=echo, pool_pre_ping=True,
                               connect_args={"prepare_threshold": None,
                                             "options": "-c TimeZone=UTC "
                                                        "-c random_page_cost=1.1"})
    else:
        raise ConfigError(f"database backend {backend!r} is not supported; use sqlite "
                          "(SpatiaLite) or postgresql (PostGIS)")
    try:
        with engine.connect() as conn:
            if backend == "postgresql":
                has_postgis = conn.execute(text(
                    "SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")).scalar()
                if not has_postgis:
                    raise ConfigError(
                        f"the database {parsed.database!r} has no PostGIS extension: run "
                        "'CREATE EXTENSION postgis;' in it as a superuser")
    except NoSuchModuleError as exc:
        raise ConfigError(f"no driver for {parsed.drivername!r}: {exc}") from exc
    except OperationalError as exc:
        if isinstance(exc.orig, ConfigError):
            raise exc.orig from None
        first_line = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise ConfigError(f"cannot connect to the database {parsed.render_as_string()}: "
                          f"{first_line}") from exc
    return engine


def engine_of(session: Session) -> Engine:
    """The engine a session runs on (its bind may be a connection): what caches held per
    database are keyed by."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else (
        engine_or_session)
    return bind.dialect.name == "sqlite"


def init_app(app: Flask) -> None:
    """Engine is made lazily on first use so that `create_app` stays cheap and CLI help works."""
    app.extensions["assetmap.db"] = {"engine": None, "factory": None}

    @app.teardown_appcontext
    def _remove_session(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()


def get_engine(app: Flask | None = None) -> Engine:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions["assetmap.db"]
    if state["engine"] is None:
        state["engine"] = make_engine(app.config["DATABASE_URL"], echo=app.config["SQL_ECHO"])
        state["factory"] = sessionmaker(bind=state["engine"], expire_on_commit=False)
    return state["engine"]


def get_session() -> Session:
    """The session of the current request or app context, removed at teardown."""
    if "db_session" not in g:
        get_engine()
        g.db_session = current_app.extensions["assetmap.db"]["factory"]()
    return g.db_session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A session for CLI commands and scheduled jobs: commit on success, roll back on error."""
    get_engine(app)
    session: Session = app.extensions["assetmap.db"]["factory"]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def column_rows(session: Session, stmt: Select,
                params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
    """The rows of a select of plain columns, run through Core: the ORM's result handling
    costs microseconds a row and adds nothing to column tuples, and a search reads thousands.
    Pending changes are flushed first, as an ORM query would."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(stmt, params)


def one_of(session: Session, column: QueryableAttribute[Any] | ColumnElement[Any],
           values: Collection[Any]) -> ColumnElement[bool]:
    """`column IN values` for a list whose length changes from call to call (the ids a search
    reads). PostgreSQL gets the list as one array, `= ANY(:values)`: an IN list there is a
    new statement for every length, which psycopg converts again and SQLAlchemy renders
    again, cast by cast, about a millisecond each time. SQLite has no arrays; its IN costs
    little either way."""
    if is_sqlite(session):
        return column.in_(values)
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def one_of_param(column: QueryableAttribute[Any] | ColumnElement[Any], name: str, *,
                 sqlite: bool) -> ColumnElement[bool]:
    """`one_of` in a statement built once and run often: the values come at execution, as
    the parameter `name` (a list). Building a wide select costs more than running it."""
    if sqlite:
        return column.in_(bindparam(name, expanding=True))
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def begin_write(session: Session) -> None:
    """Take SQLite's write lock now, at the start of a transaction that will write.

    A transaction that reads and then writes fails at once with "database is locked" if
    another process wrote in between; one that starts with BEGIN IMMEDIATE waits its turn
    (busy timeout) instead. Call it first thing in a session; a no-op on PostGIS.
    """
    if is_sqlite(session) and not session.in_transaction():
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping]) -> None:
    """INSERT many rows with the same keys, in the session's transaction.

    On PostgreSQL the rows go through COPY, values converted by the columns' own types: for
    the thousands of history rows of a feed's first load it is many times faster than an
    executemany, whose per-row protocol and parameter handling dominate. SQLite's
    executemany is already a tight loop in C.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    columns = []  # (name, the column type's converter, what it makes of None)
    for name in names:
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        columns.append((name, process, process(None) if process else None))
    quote = dialect.identifier_preparer.quote
    statement = (f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
                 "FROM STDIN")
    cursor = _driver_cursor(session)
    with cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([none if (value := row[name]) is None else
                            process(value) if process else value
                            for name, process, none in columns])


def copy_csv(session: Session, table: Table, names: Sequence[str], csv_text: str) -> None:
    """PostgreSQL only: rows already written as CSV (e.g. by pandas, a whole chunk at once)
    into `table` by COPY, in the session's transaction. An empty field is NULL."""
    quote = session.get_bind().dialect.identifier_preparer.quote
    statement = (f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) "
                 "FROM STDIN (FORMAT csv)")
    cursor = _driver_cursor(session)
    with cursor, cursor.copy(statement) as copy:
        copy.write(csv_text)


def insert_returning_ids(session: Session, table: Table, rows: Sequence[Mapping]) -> list[int]:
    """INSERT many rows and return their new ids, in the order of `rows`.

    PostgreSQL hands out the ids from the table's sequence first so the rows can go through
    `bulk_insert`; SQLite numbers them itself and reports them by RETURNING.
    """
    if not rows:
        return []
    if session.get_bind().dialect.name != "postgresql":
        return list(session.scalars(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
    ids = list(session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": table.name, "n": len(rows)}))
    bulk_insert(session, table, [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)])
    return ids


def dispose(app: Flask) -> None:
    state = app.extensions.get("assetmap.db")
    if state and state["engine"] is not None:
        state["engine"].dispose()
        state["engine"] = None
        state["factory"] = None


def _driver_cursor(session: Session) -> Any:
    """A psycopg cursor on the session's own connection (for COPY, in its transaction)."""
    driver = session.connection().connection.driver_connection
    assert driver is not None  # an open connection always has its psycopg connection
    return driver.cursor()
