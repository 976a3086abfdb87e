"""iCalendar (.ics) feeds: a group's public calendar becomes activities with schedules.

A recurring event (RRULE) is one activity with a rule; RDATEs add one-off sessions, EXDATEs
and cancelled or moved occurrences (RECURRENCE-ID overrides) become exception dates, and a
moved occurrence is added back as a one-off at its new time. Times in any zone are turned
into Europe/London wall-clock times; floating times are read in the calendar's
X-WR-TIMEZONE (else London). The state kept between runs is the HTTP validators of the
calendar URL, so an unchanged calendar is not downloaded or parsed again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, ClassVar

from assetmap.errors import ScheduleError
from assetmap.schedule import DAY_CODES, LONDON, ScheduleRule, occurrences
from assetmap.values import find_postcode
from assetmap.vocab import guess_category
from scrapers.http import PoliteClient, expect_calendar
from scrapers.normalise import (
    absolute,
    clean,
    coordinates,
    join_parts,
    plain,
    recurrence,
    to_london,
    without_postcode,
    zone,
)
from scrapers.records import (
    ITEM_ERRORS,
    ActivityRecord,
    ContactRecord,
    EmptyFeed,
    FeedFormatError,
    IssueLevel,
    OrganisationRecord,
    Page,
    ParseIssue,
    Record,
    VenueRecord,
)

if TYPE_CHECKING:
    from icalendar import Event

SOURCE_TYPE = "ical"
_PRIVATE = frozenset({"PRIVATE", "CONFIDENTIAL"})


class ICalScraper:
    """One calendar URL per source."""

    source_type: ClassVar[str] = SOURCE_TYPE

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]:
        """The calendar, unless unchanged since the last run (then nothing).

        State: `{"http_cache": {url: {"etag": ..., "last_modified": ...}}}`.
        """
        cache = dict(state.get("http_cache") or {})
        result = client.get(url, cache=cache, headers={"Accept": "text/calendar, */*;q=0.5"})
        if result.not_modified:
            return
        body = expect_calendar(result)
        if b"BEGIN:VEVENT" not in body.upper():
            raise EmptyFeed(f"{url} is a calendar with no events; check it is the group's "
                            "public calendar, not an empty or private one", url=url)
        yield Page(result.url, body, {"http_cache": {k: v for k, v in cache.items() if k == url}})

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]:
        """Records from iCalendar bytes or text: one per UID (a series or a one-off)."""
        from icalendar import Calendar, Event

        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        try:
            calendars = Calendar.from_ical(data, multiple=True)
        except (ValueError, IndexError) as exc:
            raise FeedFormatError(f"{base_url} is not a readable iCalendar file ({exc})",
                                  url=base_url) from None
        for calendar in calendars:
            floating = zone(clean(calendar.get("X-WR-TIMEZONE"))) or LONDON
            groups: dict[str, list[Event]] = {}
            for event in calendar.walk("VEVENT"):
                if isinstance(event, Event):
                    groups.setdefault(_uid(event), []).append(event)
            for uid, events in groups.items():
                yield from _series(uid, events, floating, base_url)


def _uid(event: Event) -> str:
    uid = clean(event.get("UID"))
    if uid:
        return uid
    # Without a UID, the summary and start identify the event well enough between runs.
    start = event.get("DTSTART")
    stamp = start.to_ical() if hasattr(start, "to_ical") else start
    basis = f"{event.get('SUMMARY')}|{stamp!r}"
    return "sha1:" + hashlib.sha1(basis.encode("utf-8")).hexdigest()


def _issue(message: str, uid: str, url: str, *, level: IssueLevel = "skipped") -> ParseIssue:
    return ParseIssue(SOURCE_TYPE, message, level, uid, url)


def _series(uid: str, events: list[Event], floating: tzinfo,
            url: str) -> Iterator[Record | ParseIssue]:
    masters = [e for e in events if e.get("RECURRENCE-ID") is None]
    overrides = [e for e in events if e.get("RECURRENCE-ID") is not None]
    notes: list[str] = []
    main = masters[0] if masters else overrides[0]
    if str(main.get("CLASS") or "").upper() in _PRIVATE:
        yield _issue("a private event is not published", uid, url)
        return
    try:
        if masters:
            schedules = _master_rules(main, overrides, floating, notes)
        else:  # only overrides: their series is not in this file
            schedules = tuple(_once(e, floating) for e in overrides if not _cancelled(e))
        for extra in masters[1:]:
            # Some exporters repeat the UID for each date of a series instead of a rule.
            if extra.rrules:
                notes.append("several repeating events share this UID; only the first is used")
            elif not _cancelled(extra):
                schedules += (_once(extra, floating),)
        record = _record(uid, main, tuple(dict.fromkeys(schedules)), url)
    except ITEM_ERRORS as exc:
        yield _issue(f"event not used: {exc}", uid, url)
        return
    yield record
    for note in notes:
        yield _issue(note, uid, url, level="warning")


def _cancelled(event: Event) -> bool:
    return str(event.get("STATUS") or "").upper() == "CANCELLED"


def _minute(moment: time) -> time:
    return time(moment.hour, moment.minute)


def _when(event: Event, name: str) -> date | datetime:
    """A date-valued property; broken or missing values raise ValueError for the item."""
    value = event.decoded(name) if event.get(name) is not None else None
    if not isinstance(value, date):
        raise ValueError(f"{name} is missing or not a date ({event.get(name)!r})")
    return value


def _times(event: Event, floating: tzinfo) -> tuple[date, time | None, time | None]:
    """(London date, start time, end time) of an event; all-day events have no times."""
    start = _when(event, "DTSTART")
    if not isinstance(start, datetime):
        return start, None, None
    local = to_london(start, floating=floating)
    length = _length(event)
    end_time = _minute((local + length).time()) if length and timedelta(0) < length < timedelta(
        days=1) else None
    return local.date(), _minute(local.time()), end_time


def _length(event: Event) -> timedelta | None:
    """How long a timed event lasts (DTEND wins over DURATION when a feed gives both)."""
    start = _when(event, "DTSTART")
    if event.get("DTEND") is not None:
        end = event.decoded("DTEND")
        if isinstance(start, datetime) and isinstance(end, datetime):
            if (start.tzinfo is None) != (end.tzinfo is None):
                end = end.replace(tzinfo=start.tzinfo)
            return end - start
        return None
    if event.get("DURATION") is not None:
        value = event.decoded("DURATION")
        return value if isinstance(value, timedelta) else None
    return None


def _once(event: Event, floating: tzinfo) -> ScheduleRule:
    day, start, end = _times(event, floating)
    return ScheduleRule("once", start, end, on_date=day)


def _london_date(value: date | datetime, floating: tzinfo) -> date:
    return to_london(value, floating=floating).date() if isinstance(value, datetime) else value


def _shift_day(entry: str, shift: int) -> str:
    code = entry[-2:].upper()
    if not shift or code not in DAY_CODES:
        return entry
    return entry[:-2] + DAY_CODES[(DAY_CODES.index(code) + shift) % 7]


def _master_rules(master: Event, overrides: list[Event], floating: tzinfo,
                  notes: list[str]) -> tuple[ScheduleRule, ...]:
    day, start, end = _times(master, floating)
    raw_start = _when(master, "DTSTART")
    # A time that is Monday 00:30 in Berlin is Sunday 23:30 in London: move the weekdays too.
    shift = (day - raw_start.date()).days if isinstance(raw_start, datetime) else 0
    excluded = {_london_date(d, floating) for d in master.exdates if isinstance(d, date)}
    rules: tuple[ScheduleRule, ...] = ()
    rrules = master.rrules
    if len(rrules) > 1:
        notes.append(f"{len(rrules)} RRULEs; only the first is used")
    if rrules:
        try:
            rules = _from_rrule(rrules[0], day, start, end, excluded, shift, floating, notes)
        except ScheduleError as exc:
            notes.append(f"repeat rule not used ({exc.message}); only the first date is kept")
    if not rules and day not in excluded:
        rules = (ScheduleRule("once", start, end, on_date=day),)
    extra = []
    for override in overrides:
        moved_from = _london_date(_when(override, "RECURRENCE-ID"), floating)
        if _cancelled(override):
            excluded.add(moved_from)
            continue
        moved = _once(override, floating)
        if (moved.on_date, moved.start_time, moved.end_time) != (moved_from, start, end):
            excluded.add(moved_from)
            extra.append(moved)
    for rdate, period_end in master.rdates:
        if not isinstance(rdate, date):
            continue
        once = _rdate_rule(rdate, period_end, start, end, _length(master), floating)
        if once.on_date not in excluded and not _already(rules, once):
            extra.append(once)
    recurring = tuple(replace(r, except_dates=tuple(sorted(set(r.except_dates) | excluded)))
                      if r.kind != "once" else r for r in rules
                      if r.kind != "once" or r.on_date not in excluded)
    return tuple(dict.fromkeys(recurring + tuple(extra)))


def _rdate_rule(value: date | datetime, period_end: Any, start: time | None, end: time | None,
                length: timedelta | None, floating: tzinfo) -> ScheduleRule:
    """A one-off session for an RDATE, lasting as long as the main event unless a period."""
    if not isinstance(value, datetime):
        return ScheduleRule("once", start, end, on_date=value)
    local = to_london(value, floating=floating)
    if isinstance(period_end, timedelta):
        length = period_end
    elif isinstance(period_end, datetime):
        length = period_end - value
    end = _minute((local + length).time()) if length and timedelta(0) < length < timedelta(
        days=1) else None
    return ScheduleRule("once", _minute(local.time()), end, on_date=local.date())


def _already(rules: tuple[ScheduleRule, ...], once: ScheduleRule) -> bool:
    """Whether a one-off session is already an occurrence of the rules (RDATE overlap)."""
    begin = datetime.combine(once.on_date or date.min, time(), tzinfo=LONDON)
    return any(s.start.time() == (once.start_time or time())
               for s in occurrences(rules, begin, begin + timedelta(days=1)))


def _from_rrule(rrule: Any, day: date, start: time | None, end: time | None,
                excluded: set[date], shift: int, floating: tzinfo,
                notes: list[str]) -> tuple[ScheduleRule, ...]:
    def values(key: str) -> list[Any]:
        return list(rrule.get(key) or [])

    freq = (values("FREQ") or [None])[0]
    byday = [_shift_day(str(d), shift) for d in values("BYDAY")]
    if shift and any(len(d) > 2 for d in byday):
        notes.append("a monthly pattern crosses midnight in London time; days are approximate")
    if not byday and str(freq).upper() == "WEEKLY":
        byday = [DAY_CODES[day.weekday()]]
    for unsupported in ("BYMONTH", "BYWEEKNO", "BYYEARDAY", "BYHOUR"):
        if values(unsupported):
            notes.append(f"{unsupported} in the repeat rule is ignored")
    valid_to = None
    until = (values("UNTIL") or [None])[0]
    if isinstance(until, datetime):
        local_until = to_london(until, floating=floating)
        valid_to = local_until.date()
        if start and local_until.time() < start:
            valid_to -= timedelta(days=1)
    elif isinstance(until, date):
        valid_to = until
    count = (values("COUNT") or [None])[0]
    return recurrence(
        freq=str(freq) if freq else None, byday=byday,
        interval=int((values("INTERVAL") or [1])[0]), start_time=start, end_time=end,
        valid_from=day, valid_to=valid_to, except_dates=excluded,
        count=int(count) if count else None,
        bymonthday=[int(d) for d in values("BYMONTHDAY")],
        bysetpos=[int(p) for p in values("BYSETPOS")])


def _venue(event: Event) -> tuple[VenueRecord | None, bool]:
    """(venue, online) from LOCATION text and GEO."""
    where = clean(event.get("LOCATION"))
    geo = event.get("GEO")
    point = coordinates(geo.latitude, geo.longitude) if geo is not None else None
    if where and where.lower().startswith(("http://", "https://")):
        return None, True
    if not where and not point:
        return None, False
    parts = [p.strip() for p in (where or "").split(",") if p.strip()]
    return VenueRecord(SOURCE_TYPE, name=without_postcode(parts[0]) if parts else None,
                       address=join_parts(*(without_postcode(p) for p in parts[1:])),
                       postcode=find_postcode(where), lat=point[0] if point else None,
                       lon=point[1] if point else None), False


def _organiser(event: Event) -> OrganisationRecord | None:
    organizer = event.get("ORGANIZER")
    if organizer is None:
        return None
    name = clean(organizer.params.get("CN"))
    address = str(organizer)
    email = address[7:] if address.lower().startswith("mailto:") else None
    if not (name or email):
        return None
    return OrganisationRecord(name=name or email or "", email=email)


def _modified(event: Event) -> datetime | None:
    # LAST-MODIFIED only: DTSTAMP is often the export time and would change every run.
    if event.get("LAST-MODIFIED") is None:
        return None
    value = event.decoded("LAST-MODIFIED")
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _record(uid: str, event: Event, schedules: tuple[ScheduleRule, ...],
            url: str) -> ActivityRecord:
    name = plain(event.get("SUMMARY"))
    if not name:
        raise ValueError("no SUMMARY")
    description = plain(event.get("DESCRIPTION"))
    venue, online = _venue(event)
    link = clean(event.get("URL"))
    source_url = absolute(url, link) or url
    categories = [str(c) for c in event.categories] if event.get("CATEGORIES") else []
    guess = guess_category(name)
    category = guess if guess != "other" else guess_category(name, *categories, description)
    organisation = _organiser(event)
    return ActivityRecord(
        source_type=SOURCE_TYPE, external_id=uid, name=name, source_url=source_url,
        description=description, category=category, schedules=schedules, venue=venue,
        organisation=organisation, tags=frozenset({"online-option"}) if online else frozenset(),
        contact=ContactRecord(email=organisation.email if organisation else None,
                              url=source_url),
        deleted=_cancelled(event), modified=_modified(event), online=online,
        raw_kind="VEVENT")
