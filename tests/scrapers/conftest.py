"""A real HTTP server on 127.0.0.1 serving recorded feed content, and a fast polite client.

Fetch tests go through sockets, robots.txt, retries and timeouts exactly as in production;
only the politeness delays are shortened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers.http import PoliteClient

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
# Hosts used inside recorded files; replaced by the server's own address when served.
RECORDED_HOSTS = ("https://opendata.example.org", "https://directory.example.org")


def fixture_bytes(relative: str) -> bytes:
    return (FEEDS / relative).read_bytes()


@dataclass
class Reply:
    """One canned answer. `declared_length` larger than the body simulates a cut connection;
    -1 sends no Content-Length and closes the connection after the body."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    declared_length: int | None = None
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]
    at: float

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


Route = list[Reply] | Callable[[Seen], Reply]


class FeedServer:
    """Routes by full path (with query) first, then by path alone; unknown paths are 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.robots = "User-agent: *\nAllow: /\n"
        self.base = ""

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, *replies: Reply | Callable[[Seen], Reply]) -> None:
        """Answer `path` with the replies in turn (the last one repeats), or a function."""
        if len(replies) == 1 and callable(replies[0]):
            self.routes[path] = replies[0]
        else:
            self.routes[path] = [r for r in replies if isinstance(r, Reply)]

    @staticmethod
    def reply(status: int = 200, body: bytes = b"", **options: object) -> Reply:
        """A `Reply` (test modules cannot import from conftest reliably)."""
        return Reply(status, body, **options)  # type: ignore[arg-type]

    def recorded(self, relative: str) -> bytes:
        """A recorded fixture with recorded hosts pointed at this server."""
        body = fixture_bytes(relative)
        for host in RECORDED_HOSTS:
            body = body.replace(host.encode(), self.base.encode())
        return body

    def serve(self, path: str, relative: str, *, content_type: str = "application/json",
              etag: str | None = None) -> None:
        """Serve a recorded fixture at `path`."""
        self.route(path, Reply(body=self.recorded(relative),
                               headers={"Content-Type": content_type}, etag=etag))

    def hits(self, path_prefix: str) -> list[Seen]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def reply_for(self, seen: Seen) -> Reply:
        if urlsplit(seen.path).path == "/robots.txt" and "/robots.txt" not in self.routes:
            return Reply(body=self.robots.encode(), headers={"Content-Type": "text/plain"})
        route = self.routes.get(seen.path) or self.routes.get(urlsplit(seen.path).path)
        if route is None:
            return Reply(404, b"not found", {"Content-Type": "text/plain"})
        if callable(route):
            return route(seen)
        with self.lock:
            return route.pop(0) if len(route) > 1 else route[0]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        feeds = self.server.feeds
        seen = Seen(self.path, dict(self.headers.items()), time.monotonic())
        with feeds.lock:
            feeds.requests.append(seen)
        reply = feeds.reply_for(seen)
        if reply.delay:
            time.sleep(reply.delay)
        if (reply.etag and self.headers.get("If-None-Match") == reply.etag) or (
                reply.last_modified and self.headers.get("If-Modified-Since")
                == reply.last_modified):
            self.send_response(304)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.etag:
            self.send_header("ETag", reply.etag)
        if reply.last_modified:
            self.send_header("Last-Modified", reply.last_modified)
        if reply.declared_length == -1:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)
        if reply.declared_length and reply.declared_length > len(reply.body):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the tests assert on `FeedServer.requests` instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    feeds: FeedServer

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that time out leave broken pipes behind; that is expected here."""


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    feeds = FeedServer()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.feeds = feeds
    feeds.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield feeds
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def polite_client() -> Iterator[PoliteClient]:
    with PoliteClient(min_interval=0, backoff=0.01, max_backoff=0.05, retries=2,
                      connect_timeout=2, read_timeout=2) as polite:
        yield polite


@pytest.fixture
def recorded() -> Callable[[str], bytes]:
    """Read a recorded fixture under tests/fixtures/feeds."""
    return fixture_bytes
