"""OpenActive RPDE feeds: sessions, events, courses and facility uses published by providers.

An RPDE feed is a chain of pages, each with `items` and a `next` URL; the last page has no
items and a `next` equal to its own URL, which is where the next poll starts. Each item is
`{"state": "updated"|"deleted", "kind", "id", "modified", "data"}`. The state kept between
runs is the URL of the next page to read, so a run that stops halfway resumes there.
See https://openactive.io/realtime-paged-data-exchange/.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from assetmap.referral.intake import from_capacity
from assetmap.schedule import DAY_CODES, ScheduleRule
from scrapers.http import PoliteClient, decode_json
from scrapers.normalise import absolute, clean, day_code, parse_modified, parse_time
from scrapers.records import (
    ITEM_ERRORS,
    ActivityRecord,
    EmptyFeed,
    FeedFormatError,
    IssueLevel,
    Page,
    ParseIssue,
    Record,
)
from scrapers.schemaorg import activity_from_event, as_list, types

SOURCE_TYPE = "openactive"
# Fields a session must not take from its series: they describe the series itself.
_NOT_INHERITED = frozenset({"@id", "id", "@type", "type", "identifier", "eventSchedule",
                            "subEvent", "startDate", "endDate", "duration", "superEvent",
                            "aggregateFacilityUse", "@context"})
_FACILITY_TYPES = frozenset({"FacilityUse", "IndividualFacilityUse"})


class OpenActiveScraper:
    """Reads an RPDE feed page by page; `max_pages` bounds one run (the rest comes next run)."""

    source_type: ClassVar[str] = SOURCE_TYPE

    def __init__(self, *, max_pages: int | None = None) -> None:
        self.max_pages = max_pages

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]:
        """Pages from `state["next"]` (or the feed URL) to the end of the feed.

        Each page's state is `{"next": <URL of the page after it>}`, with `"position":
        [modified, id]` of the last item read when that URL does not carry it; at the end of
        the feed `next` is the last page's own URL, which is where the next poll starts.
        A feed whose position repeats or goes back (RPDE orders items by `modified`, then
        `id`, and never goes back) stops the run before the page that does it, so a broken
        `next` cannot loop for ever or replay old versions over new ones.
        """
        current = str(state.get("next") or url)
        first_run = not state.get("next")
        position = _url_position(current) or _as_position(state.get("position"))
        visited = {current}
        pages = 0
        while True:
            page = client.get_json(current, per_item=True)
            items, next_url = _page_parts(page, current)
            if first_run and pages == 0 and not items:
                raise EmptyFeed(f"{current} has no items on a first run; check that it is the "
                                "start of an RPDE feed (e.g. .../session-series)", url=current)
            at_end = not items or next_url == current
            reached = _url_position(next_url) or _last_item_position(items)
            if not at_end:
                _check_advances(current, next_url, position, reached, visited, start=url)
            if reached is not None:
                position = reached
            page_state: dict[str, Any] = {"next": next_url}
            if position is not None and _url_position(next_url) != position:
                page_state["position"] = list(position)  # the URL does not say where it is
            yield Page(current, page, page_state)
            pages += 1
            if at_end or (self.max_pages is not None and pages >= self.max_pages):
                return
            visited.add(next_url)
            current = next_url

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]:
        """Records from one RPDE page (decoded JSON, or its bytes/text)."""
        page = decode_json(raw, url=base_url, per_item=True)
        items, _ = _page_parts(page, base_url)
        for item in items:
            try:
                found = list(_item(item, base_url))
            except ITEM_ERRORS as exc:  # e.g. an id that is not text a database can store
                found = [_issue(f"item not used: {exc}", None, base_url)]
            yield from found


Position = tuple[int | str, int | str]


def _as_position(value: Any) -> Position | None:
    """A stored or published (modified, id) position, ints where they are whole numbers."""
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None
    parts = [int(v) if isinstance(v, str) and v.isdigit() else v for v in value]
    if not all(isinstance(p, int | str) and not isinstance(p, bool) for p in parts):
        return None
    return parts[0], parts[1]


def _url_position(url: str) -> Position | None:
    """The position a next URL says it continues after: RPDE's afterTimestamp and afterId,
    or afterChangeNumber. None when the URL does not say."""
    query = parse_qs(urlsplit(url).query)
    if "afterChangeNumber" in query:
        return _as_position([query["afterChangeNumber"][0], ""])
    if "afterTimestamp" in query and "afterId" in query:
        return _as_position([query["afterTimestamp"][0], query["afterId"][0]])
    return None


def _last_item_position(items: list[Any]) -> Position | None:
    last = items[-1] if items else None
    if not isinstance(last, dict) or isinstance(last.get("modified"), bool):
        return None
    return _as_position([last.get("modified"), last.get("id")])


def _order_key(position: Position) -> tuple:
    """Comparable whatever the publisher's types: numbers before text, each in its order."""
    return tuple((0, v, "") if isinstance(v, int) else (1, 0, v) for v in position)


def _check_advances(current: str, next_url: str, before: Position | None,
                    reached: Position | None, visited: set[str], *, start: str) -> None:
    if next_url in visited or (next_url == start and current != start):
        raise FeedFormatError(
            f"{current} gives as its next page {next_url}, a page already read in this run; "
            "the feed's paging goes back or repeats, so the run stops here (nothing from this "
            "page on is stored). Tell the publisher", url=current)
    if before is not None and reached is not None and \
            _order_key(reached) <= _order_key(before):
        word = "repeats" if _order_key(reached) == _order_key(before) else "goes back"
        raise FeedFormatError(
            f"{current}: the feed's position {word} (modified {reached[0]}, id {reached[1]!r} "
            f"after modified {before[0]}, id {before[1]!r}); RPDE feeds must move forward, so "
            "the run stops here (nothing from this page on is stored). Tell the publisher",
            url=current)


def _page_parts(page: Any, url: str) -> tuple[list[Any], str]:
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise FeedFormatError(f"{url} is not an RPDE page (no 'items' list); check that the "
                              "source URL is an OpenActive feed endpoint", url=url)
    next_url = absolute(url, page.get("next")) if isinstance(page.get("next"), str) else None
    if not next_url:
        raise FeedFormatError(f"{url} is an RPDE page without a 'next' URL; the publisher's "
                              "feed is broken, tell them", url=url)
    return page["items"], next_url


def _issue(message: str, external_id: str | None, url: str, *,
           level: IssueLevel = "skipped") -> ParseIssue:
    return ParseIssue(SOURCE_TYPE, message, level, external_id, url)


def _item(item: Any, url: str) -> Iterator[Record | ParseIssue]:
    if not isinstance(item, dict):
        yield _issue("an RPDE item must be a JSON object", None, url)
        return
    item_id = clean(item.get("id"))
    if not item_id:
        yield _issue("an RPDE item without an id cannot be updated later", None, url)
        return
    kind = clean(item.get("kind"))
    modified = _rpde_modified(item.get("modified"))
    if item.get("state") == "deleted":
        yield ActivityRecord.tombstone(SOURCE_TYPE, item_id, modified=modified, raw_kind=kind)
        return
    data = item.get("data")
    if item.get("state") != "updated" or not isinstance(data, dict):
        yield _issue(f"item state {item.get('state')!r} with data of type "
                     f"{type(data).__name__}; expected 'updated' with an object", item_id, url)
        return
    data = _inherit(data)
    found = types(data)
    if "Slot" in found:
        yield _issue("a Slot is a bookable time, not an activity; use the FacilityUse feed",
                     item_id, url)
        return
    notes: list[str] = []
    try:
        record = activity_from_event(data, source_type=SOURCE_TYPE, external_id=item_id,
                                     base_url=url, notes=notes, modified=modified,
                                     raw_kind=next(iter(sorted(found)), kind))
        if found & _FACILITY_TYPES and not record.schedules:
            record = replace(record, schedules=_opening_hours(data))
        intake = from_capacity(data.get("remainingAttendeeCapacity"))
        if intake:
            record = replace(record, intake=intake)
    except ITEM_ERRORS as exc:
        yield _issue(f"{kind or 'item'} not used: {exc}", item_id, url)
        return
    yield record
    for note in notes:
        yield _issue(note, item_id, url, level="warning")


def _inherit(data: dict) -> dict:
    """A session with its embedded series' fields filled in (name, organiser, place...)."""
    parent = data.get("superEvent")
    if not isinstance(parent, dict):
        parent = data.get("aggregateFacilityUse")
    if not isinstance(parent, dict):
        return data
    merged = {k: v for k, v in _inherit(parent).items() if k not in _NOT_INHERITED}
    merged.update({k: v for k, v in data.items() if v not in (None, "", [], {})})
    return merged


def _opening_hours(data: dict) -> tuple[ScheduleRule, ...]:
    """Weekly rules from a facility's `hoursAvailable` (OpeningHoursSpecification)."""
    by_hours: dict[tuple[Any, Any], set[str]] = {}
    for spec in as_list(data.get("hoursAvailable")):
        if not isinstance(spec, dict):
            continue
        days = {d for d in (day_code(v) for v in as_list(spec.get("dayOfWeek"))) if d}
        if days:
            hours = (parse_time(spec.get("opens")), parse_time(spec.get("closes")))
            by_hours.setdefault(hours, set()).update(days)
    return tuple(ScheduleRule("weekly", opens, closes,
                              days=tuple(sorted(days, key=DAY_CODES.index)))
                 for (opens, closes), days in by_hours.items())


def _rpde_modified(value: object) -> datetime | None:
    """RPDE's `modified` is an integer that only orders items (often, not always, epoch ms).

    Mapped to epoch + value milliseconds so that ingest can tell an older version of an item
    (a feed replayed from its start) from a newer one, whatever the publisher's numbering.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
    return parse_modified(value)
