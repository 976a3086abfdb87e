"""The record contract every scraper produces and ingest consumes: records, issues, pages,
the scraper interface and its errors (the HTTP client is in `scrapers.http`).

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
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from datetime import time as clock_time
from decimal import Decimal
from enum import Enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from assetmap.referral.intake import INTAKE_IDS
from assetmap.referral.languages import LANGUAGES
from assetmap.schedule import ScheduleRule
from assetmap.values import strip_controls
from assetmap.vocab import CATEGORY_IDS, COST_KINDS, TAG_IDS

CostKind = Literal["free", "amount", "small-fee", "unknown"]
Gender = Literal["any", "male", "female"]
IssueLevel = Literal["skipped", "warning"]
Validators = dict[str, str]


# -- text fit to store -----------------------------------------------------------------------

# C0 controls but tab and line breaks, DEL, C1 controls: PostgreSQL text cannot hold NUL, and
# none of them means anything in a name or description. Removed centrally (every record's text
# goes through `storable`) so a feed item lands alike on SpatiaLite and PostGIS.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def storable(text: str, *, what: str = "text") -> str:
    """Text a database can store: controls removed; ValueError for text that was not valid
    UTF-8 (lone surrogates: bytes JSON or a feed decoder could not read), which no cleaning
    can make right, so the item is skipped and reported instead."""
    if _SURROGATE.search(text):
        raise ValueError(f"{what} is not valid UTF-8 (the feed has bytes that are not text)")
    return strip_controls(text)


def printable(text: str) -> str:
    """Text for a report (an issue, a run's error): never refused, bad bytes shown as \ufffd."""
    return strip_controls(_SURROGATE.sub("\ufffd", text))


_TEXT_FIELDS: dict[type, tuple[tuple[str, ...], Callable[[Any], tuple]]] = {}


def _one_field(name: str) -> Callable[[Any], tuple]:
    """A reader like attrgetter's for many names, which answers a tuple for one name too."""
    return lambda record: (getattr(record, name),)


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
                                      _one_field(names[0]))
    names, read = known
    if "".join(filter(None, read(record))).isprintable():
        return
    for name in names:
        value = getattr(record, name)
        if value and not value.isprintable():
            clean = storable(value, what=name.replace("_", " "))
            if clean is not value:
                object.__setattr__(record, name, clean)


if TYPE_CHECKING:  # the client's module imports this one for its errors
    from scrapers.http import PoliteClient


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
    # Taking newcomers (assetmap.referral.intake ids) and language codes, when the feed says.
    intake: str | None = None
    languages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _store_text_fields(self)
        # Normalise containers so equal content gives equal (and hashable) records.
        object.__setattr__(self, "tags", frozenset(self.tags))
        object.__setattr__(self, "schedules", tuple(self.schedules))
        object.__setattr__(self, "languages", tuple(self.languages))
        if self.intake is not None and self.intake not in INTAKE_IDS:
            raise ValueError(f"unknown intake {self.intake!r}; use one of {INTAKE_IDS}")
        unknown_languages = [c for c in self.languages if c not in LANGUAGES]
        if unknown_languages:
            raise ValueError(f"unknown language codes {unknown_languages}; use "
                             "assetmap.referral.languages")
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


# -- the polite HTTP client ----------------------------------------------------------------


# -- content checks ------------------------------------------------------------------------


