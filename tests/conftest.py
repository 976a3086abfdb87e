"""Shared fixtures: every database test runs on real SpatiaLite and real PostGIS.

PostGIS tests use a throwaway database created from ASSETMAP_TEST_PG_ADMIN_URL (default: the
local `postgres` superuser on 127.0.0.1). Set ASSETMAP_TEST_BACKENDS=spatialite to run only
the embedded backend on a machine without PostgreSQL; CI runs both.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import psycopg
import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from assetmap import create_app, db, migrate
from assetmap.config import TestConfig
from assetmap.models import Base

PG_ADMIN = os.environ.get("ASSETMAP_TEST_PG_ADMIN_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = [b for b in os.environ.get("ASSETMAP_TEST_BACKENDS", "spatialite,postgis").split(",")
            if b]
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database of each backend, made once per test session."""
    if request.param == "spatialite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'assetmap.sqlite'}"
        engine = db.make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    name = f"assetmap_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    admin = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    url = (f"postgresql+psycopg://{admin.get('user', 'postgres')}@{admin.get('host', '127.0.0.1')}"
           f":{admin.get('port', 5432)}/{name}")
    with psycopg.connect(PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    engine = db.make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_tables(app) -> None:
    engine = db.get_engine(app)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
            conn.execute(text("DELETE FROM sqlite_sequence WHERE name IN ("
                              + ", ".join(f"'{t}'" for t in tables) + ")"))


@pytest.fixture
def bare_app(database_url, tmp_path):
    """The app on an empty database: no postcodes, no areas (a place not yet set up)."""
    app = create_app(TestConfig(database_url, NETWORK_DIR=tmp_path / "networks",
                                TILES_DIR=tmp_path / "tiles"))
    yield app
    _empty_tables(app)
    db.dispose(app)


@pytest.fixture
def app(bare_app):
    """The app with Camden's postcodes in the postcodes table (as `assetmap demo load` puts
    them): the tests' listings and searches are in Camden."""
    from assetmap.db import session_scope
    from assetmap.demo import load_postcodes

    with session_scope(bare_app) as s:
        load_postcodes(s, bare_app.config["DATA_DIR"])
    return bare_app


@pytest.fixture
def backend(database_url) -> str:
    return "postgis" if database_url.startswith("postgresql") else "spatialite"


@pytest.fixture
def session(app) -> Iterator[Session]:
    with app.app_context():
        yield db.get_session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(database_url, monkeypatch, tmp_path) -> CliRunner:
    monkeypatch.setenv("ASSETMAP_DATABASE_URL", database_url)
    monkeypatch.setenv("ASSETMAP_SECRET_KEY", "cli-test-key")
    monkeypatch.setenv("ASSETMAP_NETWORK_DIR", str(tmp_path / "networks"))
    monkeypatch.setenv("ASSETMAP_TILES_DIR", str(tmp_path / "tiles"))
    return CliRunner()


@pytest.fixture
def demo(app) -> int:
    from assetmap.db import session_scope
    from assetmap.demo import load_demo

    with session_scope(app) as s:
        return load_demo(s, app.config["DATA_DIR"])


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no csrf token on {path}"
    return match.group(1)


@pytest.fixture
def login(client, app):
    """Make a user with a role and sign the test client in as them."""
    from assetmap.db import session_scope
    from assetmap.people.users import create_user

    def _login(role: str = "connector", email: str | None = None) -> str:
        email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.org"
        with session_scope(app) as s:
            create_user(s, email=email, role=role, password="correct horse battery")
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"email": email, "password":
                                               "correct horse battery", "csrf_token": token})
        assert response.status_code == 302, response.get_data(as_text=True)
        return email

    return _login


@pytest.fixture(scope="session")
def camden_cache(tmp_path_factory) -> Path:
    """The Camden walking network, built once per test session (about 2 s)."""
    from assetmap.config import PROJECT_ROOT
    from assetmap.walking import NetworkRegistry

    folder = tmp_path_factory.mktemp("camden-network")
    NetworkRegistry(folder).build(PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf", "camden")
    return folder


@pytest.fixture(scope="session")
def camden_tiles(tmp_path_factory) -> Path:
    """The Camden basemap tiles and the extract's addresses and places, built once per test
    session (a few seconds)."""
    from assetmap.config import PROJECT_ROOT
    from assetmap.maps.tiles import build_tiles
    from assetmap.places.addresses import build_address_index

    folder = tmp_path_factory.mktemp("camden-tiles")
    osm = PROJECT_ROOT / "data" / "osm" / "camden.osm.pbf"
    build_tiles(osm, "camden", folder)
    build_address_index(osm, "camden", folder)
    return folder


@pytest.fixture
def tiles(app, camden_tiles) -> Path:
    """The app's tiles folder holding the Camden basemap."""
    import shutil

    target = app.config["TILES_DIR"]
    shutil.copytree(camden_tiles, target, dirs_exist_ok=True)
    return target


@pytest.fixture
def network(app, camden_cache) -> Path:
    """The app's network folder holding the Camden network, so matches use real streets."""
    import shutil

    target = app.config["NETWORK_DIR"]
    shutil.copytree(camden_cache, target, dirs_exist_ok=True)
    return target


@dataclass
class Mailbox:
    """What a real SMTP server on 127.0.0.1 received."""

    port: int
    host: str = "127.0.0.1"
    messages: list[EmailMessage] = field(default_factory=list)

    def wait_for(self, count: int = 1, timeout: float = 10) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"expected {count} e-mails, got {len(self.messages)}"
        return self.messages


class _Collect:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.box.messages.append(message_from_bytes(envelope.original_content,
                                                    policy=policy.default))
        return "250 OK"


@pytest.fixture
def mailbox(app) -> Iterator[Mailbox]:
    """An aiosmtpd server on a free port of 127.0.0.1; the app sends its mail there."""
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:  # aiosmtpd needs a real port number to check it is up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(port)
    controller = Controller(_Collect(box), hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=box.port)
    yield box
    controller.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def assetmap_serve(env: dict[str, str], *, workers: int, log_path: Path,
                   extra: tuple[str, ...] = ()) -> Iterator[str]:
    """The production server (`assetmap serve`, gunicorn) on a free port; yields its base URL
    once it answers, and stops it afterwards. Its output goes to `log_path`."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "assetmap", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(workers), *extra], env=env, stdout=log,
            stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        try:
            while True:
                try:
                    if requests.get(base + "/api/v1/vocabulary", timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "assetmap serve did not start"
                time.sleep(0.2)
            yield base
        finally:
            process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            process.wait(timeout=30)


#: The hall most fixtures' listings meet at (a Camden venue, inside the demo network).
MORTIMER_HALL = {"name": "Mortimer Hall", "lat": 51.5366, "lon": -0.1885}


def create_listing(app, fields: dict, *, venue: dict | None = None) -> int:
    """One listing made by the system at `venue` (name and lat/lon or postcode; default
    Mortimer Hall): the common step of the listing fixtures."""
    from assetmap.db import session_scope
    from assetmap.listings.changes import SYSTEM, create_activity
    from assetmap.listings.venues import find_or_create_venue

    with session_scope(app) as s:
        place = find_or_create_venue(s, **(venue or MORTIMER_HALL),
                                     data_dir=app.config["DATA_DIR"])
        return create_activity(s, {**fields, "venue_id": place.id}, SYSTEM).id


@pytest.fixture
def lunch_club(app) -> int:
    """An existing listing: Tuesday lunch club at a Kentish Town hall (NW5 2AB)."""
    return create_listing(app, {
        "name": "Tuesday Lunch Club", "category": "lunch-club",
        "schedules": ["Tuesdays 12:00-14:00"], "contact_email": "club@example.org",
        "cost_kind": "free"}, venue={"name": "Busby Place Hall", "postcode": "NW5 2AB"})


@pytest.fixture
def live_server(app):
    """The app on a real port for browser tests; stopped after the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
