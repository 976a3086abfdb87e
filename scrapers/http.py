"""Fetching politely: the HTTP client every scraper uses (robots.txt, one request at a time
per host, retries, size limits, conditional requests) and checks that content is what the
source type expects."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from protego import Protego

from scrapers.records import (
    FeedFormatError,
    FetchError,
    ResponseTooLarge,
    RobotsDisallowed,
    Validators,
)

DEFAULT_USER_AGENT = "AssetMap/0.1 (+https://github.com/assetmap/assetmap; community asset mapping)"


class _Transient(Exception):
    """A failure worth retrying (5xx, 429, connection error, timeout); never escapes."""

    def __init__(self, reason: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchResult:
    """A completed GET. `not_modified` means a conditional request got 304 (no content)."""

    url: str
    status: int
    content: bytes
    headers: Mapping[str, str]
    not_modified: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


_ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 lets crawlers stop reading after 500 KiB


class PoliteClient:
    """A `requests.Session` that behaves as a good guest on other people's servers.

    It says who it is, obeys robots.txt (with Protego, which handles wildcards), keeps a
    minimum gap between requests to one host (and the site's Crawl-delay if longer), retries
    only failures that may pass (5xx, 429, timeouts, dropped connections) with exponential
    backoff, makes conditional requests so unchanged content is not downloaded again, and stops
    reading a body past a size limit. All of it is configuration so tests can make it fast.

    `cache` maps a URL to the validators ({"etag", "last_modified"}) of its last 200 response.
    Pass a persistent mapping to keep it between runs, or pass `cache=` per call (scrapers keep
    validators in their source state so they are committed together with the records).
    """

    def __init__(self, *, user_agent: str = DEFAULT_USER_AGENT, min_interval: float = 1.0,
                 connect_timeout: float = 10.0, read_timeout: float = 30.0,
                 total_timeout: float = 600.0, retries: int = 3, backoff: float = 1.0,
                 max_backoff: float = 60.0, max_bytes: int = 50 * 1024 * 1024,
                 max_redirects: int = 5, obey_robots: bool = True,
                 cache: MutableMapping[str, Validators] | None = None,
                 session: requests.Session | None = None) -> None:
        self.user_agent = user_agent
        self.robot_token = user_agent.split("/")[0].split()[0]
        self.min_interval = min_interval
        self.timeout = (connect_timeout, read_timeout)
        self.total_timeout = total_timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.obey_robots = obey_robots
        self.cache: MutableMapping[str, Validators] = {} if cache is None else cache
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = user_agent
        self._lock = threading.Lock()
        self._next_slot: dict[str, float] = {}
        self._crawl_delay: dict[str, float] = {}
        self._robots: dict[str, Protego | None] = {}

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    # -- public ----------------------------------------------------------------------------
    def get(self, url: str, *, params: Mapping[str, Any] | None = None,
            headers: Mapping[str, str] | None = None,
            cache: MutableMapping[str, Validators] | None = None,
            max_bytes: int | None = None, sink: IO[bytes] | None = None) -> FetchResult:
        """GET a URL politely. Raises a `ScrapeError` subclass; never returns a 4xx/5xx.

        With `sink`, the body is streamed into that file instead of memory (large extracts);
        the result's `content` is then empty.
        """
        target = with_params(url, params)
        store = self.cache if cache is None else cache
        request_headers = dict(headers or {})
        known = store.get(target)
        if known:
            if known.get("etag"):
                request_headers["If-None-Match"] = known["etag"]
            if known.get("last_modified"):
                request_headers["If-Modified-Since"] = known["last_modified"]
        limit = self.max_bytes if max_bytes is None else max_bytes
        current = target
        for _hop in range(self.max_redirects + 1):
            self._check_robots(current)
            status, response_headers, content = self._get_with_retries(
                current, request_headers, limit, sink)
            if status in _REDIRECTS:
                current = urljoin(current, response_headers["Location"])
                continue
            if status == 304:
                if not known:
                    raise FetchError(f"{current} answered 304 Not Modified to a plain request",
                                     url=current, status=304)
                return FetchResult(current, status, b"", response_headers, not_modified=True)
            validators = {k: v for k, v in (("etag", response_headers.get("ETag")), (
                "last_modified", response_headers.get("Last-Modified"))) if v}
            if validators:
                store[target] = validators
            else:
                store.pop(target, None)
            return FetchResult(current, status, content, response_headers)
        raise FetchError(f"{url} redirected more than {self.max_redirects} times; "
                         "use the final URL in the source settings", url=url)

    def get_json(self, url: str, *, params: Mapping[str, Any] | None = None,
                 per_item: bool = False) -> Any:
        """GET and decode JSON, raising `FeedFormatError` with a clear reason if it is not."""
        return expect_json(self.get(url, params=params,
                                    headers={"Accept": "application/json"}, cache={}),
                           per_item=per_item)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (fetching robots.txt if needed)."""
        try:
            self._check_robots(url)
        except RobotsDisallowed:
            return False
        return True

    # -- politeness ------------------------------------------------------------------------
    def _wait_turn(self, url: str) -> None:
        host = _origin(url)
        with self._lock:
            interval = max(self.min_interval, self._crawl_delay.get(host, 0.0))
            now = time.monotonic()
            slot = max(now, self._next_slot.get(host, 0.0))
            self._next_slot[host] = slot + interval
        if slot > now:
            time.sleep(slot - now)

    def _check_robots(self, url: str) -> None:
        if not self.obey_robots or urlsplit(url).scheme not in ("http", "https"):
            return
        host = _origin(url)
        if host not in self._robots:
            self._robots[host] = self._load_robots(host)
        parser = self._robots[host]
        if parser is not None and not parser.can_fetch(url, self.robot_token):
            raise RobotsDisallowed(
                f"{host}/robots.txt asks {self.robot_token} not to fetch {url}; ask the site "
                "for permission or for an open data feed, or remove this source", url=url)

    def _load_robots(self, host: str) -> Protego | None:
        """None means "no rules" (robots.txt missing). RFC 9309 rules throughout."""
        robots_url = host + "/robots.txt"
        try:
            self._wait_turn(robots_url)
            response = self.session.get(robots_url, timeout=self.timeout, stream=True)
            with response:
                if 400 <= response.status_code < 500:
                    return None
                if response.status_code >= 500:
                    raise RobotsDisallowed(
                        f"{robots_url} answered HTTP {response.status_code}; robots rules say "
                        "to fetch nothing from a site whose robots.txt fails, try again later",
                        url=robots_url)
                body = response.raw.read(_ROBOTS_MAX_BYTES, decode_content=True)
        except requests.RequestException as exc:
            raise FetchError(f"could not fetch {robots_url} ({exc.__class__.__name__}); "
                             "the site may be down, try again later", url=robots_url) from exc
        parser = Protego.parse(body.decode("utf-8", errors="replace"))
        delay = parser.crawl_delay(self.robot_token)
        if delay:
            self._crawl_delay[host] = float(delay)
        return parser

    def _get_with_retries(self, url: str, headers: Mapping[str, str], limit: int,
                          sink: IO[bytes] | None) -> tuple[int, Mapping[str, str], bytes]:
        attempt = 0
        while True:
            try:
                return self._get_once(url, headers, limit, sink)
            except _Transient as exc:
                attempt += 1
                if attempt > self.retries:
                    raise FetchError(
                        f"{url}: {exc.reason} (after {attempt} attempts); the server may be "
                        "down or slow, the run can be resumed later", url=url,
                        status=exc.status) from None
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                if exc.retry_after is not None:
                    delay = max(delay, min(exc.retry_after, self.max_backoff))
                time.sleep(delay * random.uniform(1.0, 1.25))

    def _get_once(self, url: str, headers: Mapping[str, str], limit: int,
                  sink: IO[bytes] | None) -> tuple[int, Mapping[str, str], bytes]:
        self._wait_turn(url)
        started = time.monotonic()
        try:
            response = self.session.get(url, headers=dict(headers), timeout=self.timeout,
                                        stream=True, allow_redirects=False)
        except requests.Timeout:
            raise _Transient("timed out") from None
        except requests.ConnectionError as exc:
            raise _Transient(f"connection failed ({exc.__class__.__name__})") from None
        with response:
            status = response.status_code
            if status in _REDIRECTS and "Location" in response.headers:
                return status, response.headers, b""
            if status >= 500 or status == 429:
                raise _Transient(f"HTTP {status} {response.reason}", status=status,
                                 retry_after=_retry_after(response.headers))
            if status == 304:
                return status, response.headers, b""
            if status >= 400:
                raise FetchError(f"{url} answered HTTP {status} {response.reason}; check the "
                                 "URL and whether the source needs a key", url=url,
                                 status=status)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ResponseTooLarge(f"{url} is {int(declared):,} bytes, over the limit of "
                                       f"{limit:,}; raise max_bytes for this source if that "
                                       "is expected", url=url)
            if sink is not None:
                sink.seek(0)
                sink.truncate()
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > limit:
                        raise ResponseTooLarge(
                            f"{url} sent more than {limit:,} bytes; raise max_bytes for this "
                            "source if that is expected", url=url)
                    if time.monotonic() - started > self.total_timeout:
                        raise _Transient(f"download took over {self.total_timeout:g} s")
                    if sink is not None:
                        sink.write(chunk)
                    else:
                        chunks.append(chunk)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                raise _Transient(f"connection broken while reading the body "
                                 f"({exc.__class__.__name__})") from None
            return status, response.headers, b"".join(chunks)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def with_params(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    parts = urlsplit(url)
    extra = urlencode({k: v for k, v in params.items() if v is not None})
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "")
    return float(value) if value.strip().isdigit() else None


def sniff(result: FetchResult) -> str:
    """What the body looks like: "json", "html", "xml", "calendar", "binary" (an image, a PDF,
    an archive), "empty" or "unknown".

    The body wins over the Content-Type header: servers often label JSON as text/html, and a
    login or error page sent as application/json is still HTML.
    """
    head = result.content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        return "empty"
    if head.startswith(_BINARY_MAGIC):
        return "binary"
    if head[:1] in (b"{", b"["):
        return "json"
    if head.startswith(b"begin:vcalendar"):
        return "calendar"
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        return "html"
    if head.startswith(b"<"):
        return "html" if "html" in result.content_type else "xml"
    if "json" in result.content_type:
        return "json"
    return "unknown"


# Start of files that are never a feed: PNG, GIF, JPEG, PDF, ZIP, gzip, bzip2, WebP/RIFF.
_BINARY_MAGIC = (b"\x89png", b"gif8", b"\xff\xd8\xff", b"%pdf", b"pk\x03\x04", b"\x1f\x8b",
                 b"bzh", b"riff")


# Content types that are never text a feed parser can use, whatever the body looks like.
_NEVER_TEXT = ("image/", "audio/", "video/", "font/", "model/")


_NEVER_TEXT_TYPES = frozenset({"application/pdf", "application/zip", "application/gzip",
                               "application/x-gzip", "application/vnd.ms-excel",
                               "application/msword", "application/x-bzip2",
                               "application/x-tar", "application/x-7z-compressed"})


def refuse_unexpected(result: FetchResult, expected: str, *, binary_ok: bool = False) -> None:
    """A `FeedFormatError` naming what came when the response says or looks like something a
    source of this type never is (an image, a PDF, an archive), whatever else it holds.

    The Content-Type is trusted only to refuse: servers label feeds loosely (JSON as text/html,
    calendars as application/octet-stream), but JSON sent as image/png is a misconfigured or
    wrong URL, and reading it anyway would hide that. `binary_ok` is for sources that are files
    (an OSM extract may be compressed): then only media types are refused.
    """
    declared = result.content_type
    if declared.startswith(_NEVER_TEXT) or (not binary_ok and declared in _NEVER_TEXT_TYPES):
        raise FeedFormatError(f"{result.url} sent {declared} content where {expected} was "
                              "expected; check the source address", url=result.url)
    if not binary_ok and result.content and sniff(result) == "binary":
        raise FeedFormatError(f"{result.url} sent a binary file (an image, PDF or archive) "
                              f"where {expected} was expected; check the source address",
                              url=result.url)


def _html_title(result: FetchResult) -> str:
    text = result.content[:4096].decode("utf-8", errors="replace")
    lower = text.lower()
    start = lower.find("<title")
    if start < 0:
        return ""
    start = lower.find(">", start) + 1
    end = lower.find("</title", start)
    return " ".join(text[start:end].split())[:80] if end > start else ""


def expect_json(result: FetchResult, *, per_item: bool = False) -> Any:
    """The decoded JSON body, or a `FeedFormatError` that says what came instead.

    `per_item` is for pages of items (RPDE, ORUK): bad bytes or control characters in one
    item's text are left for that item's record to refuse or clean, not the whole page.
    """
    refuse_unexpected(result, "JSON")
    kind = sniff(result)
    if kind == "empty":
        raise FeedFormatError(f"{result.url} returned an empty body where JSON was expected",
                              url=result.url)
    if kind in ("html", "xml"):
        title = _html_title(result)
        raise FeedFormatError(
            f"{result.url} returned {'an HTML page' if kind == 'html' else 'XML'}"
            f"{f' ({title!r})' if title else ''} where JSON was expected; the feed may have "
            "moved, need an API key, or sit behind a login page", url=result.url)
    if per_item:
        # Bytes that are not UTF-8 become lone surrogates, and raw control characters are let
        # through (strict=False): both stay inside the one item that has them, which the
        # records' own checks then clean or refuse, so the rest of the page still lands.
        text = result.content.decode("utf-8-sig", errors="surrogateescape")
    else:
        try:
            text = result.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise FeedFormatError(f"{result.url} is not UTF-8 (byte {exc.start}); JSON must be",
                                  url=result.url) from None
    try:
        return json.loads(text, strict=not per_item)
    except json.JSONDecodeError as exc:
        # A string left open can only end at the end of the input, like a missing bracket.
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            raise FeedFormatError(
                f"{result.url}: the JSON stops after {len(result.content):,} bytes before it is "
                "complete (a truncated response); try again later", url=result.url) from None
        raise FeedFormatError(f"{result.url}: invalid JSON at line {exc.lineno} column "
                              f"{exc.colno} ({exc.msg})", url=result.url) from None


def decode_json(raw: Any, *, url: str, per_item: bool = False) -> Any:
    """JSON from recorded bytes/text (as `expect_json` would judge it); objects pass through."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", errors="surrogateescape")
    if isinstance(raw, bytes | bytearray):
        return expect_json(FetchResult(url, 200, bytes(raw), {}), per_item=per_item)
    return raw


def expect_calendar(result: FetchResult) -> bytes:
    """The body if it is an iCalendar file, else a `FeedFormatError` naming what came."""
    refuse_unexpected(result, "an iCalendar file")
    kind = sniff(result)
    if kind != "calendar":
        what = {"html": "an HTML page", "json": "JSON", "empty": "an empty body"}.get(
            kind, "something else")
        raise FeedFormatError(f"{result.url} returned {what} where an iCalendar file "
                              "(BEGIN:VCALENDAR) was expected; check the calendar's public "
                              "iCal/ICS address", url=result.url)
    if not result.content.rstrip().upper().endswith(b"END:VCALENDAR"):
        raise FeedFormatError(f"{result.url}: the calendar has no END:VCALENDAR (a truncated "
                              "response); try again later", url=result.url)
    return result.content
