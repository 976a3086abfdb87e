"""Records, issues, errors and the polite HTTP client that every scraper shares.

A scraper is split in two (STYLE habits 6-9). `fetch()` does the network and nothing else;
`parse()` turns recorded content into frozen records and touches neither the network nor the
database. The ingest step upserts the records. The split lets every parser be tested on recorded
fixtures, so a feed that changes shape is caught by a parse test, not in production.

How a caller runs a source (the state is committed in the same transaction as the records, so a
run killed halfway resumes after the last committed page and loses nothing)::

    from scrapers import SCRAPERS

    scraper = SCRAPERS[source.kind]()          # client = PoliteClient(...), one per run
    for page in scraper.fetch(client, source.url, source.state):
        with transaction():
            for item in scraper.parse(page.raw, base_url=page.url):
                if isinstance(item, ParseIssue):
                    store_issue(item)
                else:
                    upsert(item)
            source.state = page.state

`fetch()` yields nothing when the source has not changed (HTTP 304); that is not an error.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import IO, Any, ClassVar, Literal, Protocol
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from protego import Protego

from assetmap.schedule import ScheduleRule
from assetmap.vocab import CATEGORY_IDS, COST_KINDS, TAG_IDS

CostKind = Literal["free", "amount", "small-fee", "unknown"]
Gender = Literal["any", "male", "female"]
IssueLevel = Literal["skipped", "warning"]
Validators = dict[str, str]

DEFAULT_USER_AGENT = "AssetMap/0.1 (+https://github.com/assetmap/assetmap; community asset mapping)"


# -- text fit to store -----------------------------------------------------------------------

# C0 controls but tab and line breaks, DEL, C1 controls: PostgreSQL text cannot hold NUL, and
# none of them means anything in a name or description. Removed centrally (every record's text
# goes through `storable`) so a feed item lands alike on SpatiaLite and PostGIS.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def without_controls(text: str) -> str:
    """`text` without control characters (tab, newline and carriage return kept)."""
    return _CONTROL.sub("", text) if _CONTROL.search(text) else text


def storable(text: str, *, what: str = "text") -> str:
    """Text a database can store: controls removed; ValueError for text that was not valid
    UTF-8 (lone surrogates: bytes JSON or a feed decoder could not read), which no cleaning
    can make right, so the item is skipped and reported instead."""
    if _SURROGATE.search(text):
        raise ValueError(f"{what} is not valid UTF-8 (the feed has bytes that are not text)")
    return without_controls(text)


def printable(text: str) -> str:
    """Text for a report (an issue, a run's error): never refused, bad bytes shown as \ufffd."""
    return without_controls(_SURROGATE.sub("\ufffd", text))


_TEXT_FIELDS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple]]] = {}


def _store_text_fields(record: Any) -> None:
    """Every text field of a frozen record made `storable` in place.

    Cheap for the usual text, as it runs for every record of every run: the fields are read
    together and `isprintable()` passes plain one-line text at C speed; only records with
    other text (line breaks, controls, bad bytes, some spaces) are looked at field by field.
    """
    kind = type(record)
    known = _TEXT_FIELDS.get(kind)
    if known is None:
        names = tuple(f.name for f in fields(record) if str(f.type) in ("str", "str | None"))
        known = _TEXT_FIELDS[kind] = (names, attrgetter(*names) if len(names) > 1 else
                                      (lambda r, n=names[0]: (getattr(r, n),)))
    names, read = known
    if "".join(filter(None, read(record))).isprintable():
        return
    for name in names:
        value = getattr(record, name)
        if value and not value.isprintable():
            clean = storable(value, what=name.replace("_", " "))
            if clean is not value:
                object.__setattr__(record, name, clean)


# -- records -------------------------------------------------------------------------------

class Flags(Mapping[str, str]):
    """A small immutable, hashable str -> str mapping (venue accessibility flags).

    A plain dict would make the records unhashable, and records must hash and compare so a
    re-run that produces the same record is detectable.
    """

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._items: tuple[tuple[str, str], ...] = tuple(sorted((items or {}).items()))

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (k for k, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return dict(self._items) == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return f"Flags({dict(self._items)!r})"


@dataclass(frozen=True)
class OrganisationRecord:
    """Who runs an activity."""

    name: str
    url: str | None = None
    email: str | None = None
    phone: str | None = None

    def __post_init__(self) -> None:
        _store_text_fields(self)


@dataclass(frozen=True)
class ContactRecord:
    """How a person gets in touch about one activity (may differ from the organisation's)."""

    email: str | None = None
    phone: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        _store_text_fields(self)


@dataclass(frozen=True)
class VenueRecord:
    """A place: embedded in an activity, or standing alone (the OSM scraper yields only these).

    `external_id` is the source's id for the place when it has one; standalone venues always
    have one. `kind` says what the place is, e.g. "amenity=community_centre".
    """

    source_type: str
    external_id: str | None = None
    name: str | None = None
    address: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    accessibility: Flags = field(default_factory=Flags)
    source_url: str | None = None
    kind: str | None = None
    opening_hours: str | None = None  # OSM opening_hours syntax, verbatim
    website: str | None = None
    phone: str | None = None
    email: str | None = None

    def __post_init__(self) -> None:
        _store_text_fields(self)
        if not isinstance(self.accessibility, Flags):
            object.__setattr__(self, "accessibility", Flags(
                {storable(k): storable(v) for k, v in (self.accessibility or {}).items()}))
        if (self.lat is None) != (self.lon is None):
            raise ValueError("a venue needs both latitude and longitude, or neither")
        if self.lat is not None and self.lon is not None and not (
                -90 <= self.lat <= 90 and -180 <= self.lon <= 180):
            raise ValueError(f"coordinates {self.lat}, {self.lon} are not on Earth")

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)


@dataclass(frozen=True)
class ActivityRecord:
    """One activity as a source describes it, ready to be upserted by (source_type, external_id).

    `deleted` means the source says the item is withdrawn (an RPDE tombstone, an ORUK service
    marked defunct, a cancelled event): ingest should retire it, not treat it as missing.
    `uri` is the item's canonical identifier in the source (e.g. an OpenActive `@id`) and
    `part_of` the `uri` of the series a single session belongs to when the source publishes
    the series separately; ingest can fold such sessions into the series. Only such sessions
    and tombstones may have an empty name.
    """

    source_type: str
    external_id: str
    name: str
    source_url: str | None = None
    description: str | None = None
    category: str = "other"
    schedules: tuple[ScheduleRule, ...] = ()
    venue: VenueRecord | None = None
    organisation: OrganisationRecord | None = None
    cost_kind: CostKind = "unknown"
    cost_amount: Decimal | None = None  # GBP
    cost_text: str | None = None
    tags: frozenset[str] = frozenset()
    age_min: int | None = None
    age_max: int | None = None
    gender: Gender = "any"
    contact: ContactRecord | None = None
    deleted: bool = False
    modified: datetime | None = None
    assured_date: date | None = None
    online: bool = False
    raw_kind: str | None = None
    uri: str | None = None
    part_of: str | None = None

    def __post_init__(self) -> None:
        _store_text_fields(self)
        # Normalise containers so equal content gives equal (and hashable) records.
        object.__setattr__(self, "tags", frozenset(self.tags))
        object.__setattr__(self, "schedules", tuple(self.schedules))
        if self.cost_amount is not None:
            object.__setattr__(self, "cost_amount",
                               Decimal(self.cost_amount).quantize(Decimal("0.01")))
        if not self.external_id:
            raise ValueError("an activity needs an external id so re-runs update it")
        if not (self.deleted or self.part_of) and not (self.name or "").strip():
            raise ValueError(f"activity {self.external_id!r} has no name")
        if self.category not in CATEGORY_IDS:
            raise ValueError(f"unknown category {self.category!r}; use an id from assetmap.vocab")
        unknown = sorted(self.tags - TAG_IDS)
        if unknown:
            raise ValueError(f"unknown tags {unknown}; use ids from assetmap.vocab")
        if self.cost_kind not in COST_KINDS:
            raise ValueError(f"cost kind must be one of {COST_KINDS}, not {self.cost_kind!r}")
        if self.cost_amount is not None and self.cost_amount < 0:
            raise ValueError("a cost cannot be negative")
        if self.gender not in ("any", "male", "female"):
            raise ValueError(f"gender must be any, male or female, not {self.gender!r}")
        if (self.age_min is not None and self.age_max is not None
                and self.age_min > self.age_max):
            raise ValueError(f"age range {self.age_min}-{self.age_max} is upside down")
        if self.modified is not None and self.modified.tzinfo is None:
            raise ValueError("modified must be timezone-aware")

    @classmethod
    def tombstone(cls, source_type: str, external_id: str, *, modified: datetime | None = None,
                  raw_kind: str | None = None) -> ActivityRecord:
        """A record that only says "this item is withdrawn" (feeds send no other data)."""
        return cls(source_type, external_id, "", deleted=True, modified=modified,
                   raw_kind=raw_kind)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(self)

    def fingerprint(self) -> str:
        return fingerprint(self)


Record = ActivityRecord | VenueRecord
# What a parser catches around one item so a malformed item is reported, not fatal. Feeds put
# any JSON type anywhere, so type and attribute errors count as bad data too.
ITEM_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, KeyError, AttributeError,
                                            ArithmeticError)


@dataclass(frozen=True)
class ParseIssue:
    """Something in the content that could not be used; parsing carried on past it.

    `level` is "skipped" when a whole item was dropped and "warning" when the item was kept
    without the part that was not understood (e.g. a day-of-month schedule).
    """

    source_type: str
    message: str
    level: IssueLevel = "skipped"
    external_id: str | None = None
    source_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("message", "external_id", "source_url"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, printable(value))


_PLAIN = frozenset({str, int, float, bool, type(None)})
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(value: Any) -> tuple[str, ...] | None:
    """A dataclass instance's field names (cached per class); None for anything else."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    return names


def _jsonable(value: Any) -> Any:
    if type(value) in _PLAIN:
        return value
    names = _field_names(value)
    if names is not None:
        return {name: _jsonable(getattr(value, name)) for name in names}
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, frozenset | set):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | clock_time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _canonical(value: Any) -> Any:
    """Nested tuples whose repr() is the same in every process (sets sorted, no hash order).

    Fingerprints are computed for every record of every run, so this walk stays cheap: no
    dicts, no JSON, only tuples of values whose repr is deterministic.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    names = _field_names(value)
    if names is not None:
        return (kind.__name__, *[_canonical(getattr(value, name)) for name in names])
    if kind is Flags:
        return value._items
    if isinstance(value, frozenset | set):
        return tuple(sorted((_canonical(v) for v in value), key=repr))
    if isinstance(value, tuple | list):
        return tuple([_canonical(v) for v in value])
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _canonical(v)) for k, v in value.items()))
    return value  # Decimal, date, time, datetime, Enum: their repr is deterministic


def fingerprint(record: Record) -> str:
    """A stable hash of a record's content.

    Python's `hash()` changes between processes, so ingest stores this instead to see
    whether a record changed since the last run.
    """
    return hashlib.sha256(repr(_canonical(record)).encode("utf-8")).hexdigest()


# -- the scraper interface -----------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    """One unit of fetched content and the source state to store once it is committed.

    `url` is where the content came from (a URL or a local path) and is what `parse()` gets
    as `base_url`. `raw` is whatever that scraper's `parse()` takes.
    """

    url: str
    raw: Any
    state: Mapping[str, Any]


class Scraper(Protocol):
    """What every scraper module provides; registered in `scrapers.SCRAPERS`."""

    source_type: ClassVar[str]

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]: ...

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]: ...


# -- errors --------------------------------------------------------------------------------

class ScrapeError(Exception):
    """Base of the errors that stop a run; the message says what to do about it."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class FetchError(ScrapeError):
    """The server could not be reached or answered with an HTTP error."""

    def __init__(self, message: str, *, url: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class FeedFormatError(ScrapeError):
    """The content is not what the source should publish (bad JSON, an HTML page, cut off)."""


class RobotsDisallowed(ScrapeError):
    """The site's robots.txt asks robots like ours not to fetch this URL."""


class ResponseTooLarge(ScrapeError):
    """The body is bigger than the configured limit; the download was stopped."""


class EmptyFeed(ScrapeError):
    """A full run found nothing where a source should have items (STYLE habit 9)."""


class _Transient(Exception):
    """A failure worth retrying (5xx, 429, connection error, timeout); never escapes."""

    def __init__(self, reason: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


# -- the polite HTTP client ----------------------------------------------------------------

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


# -- content checks ------------------------------------------------------------------------

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
