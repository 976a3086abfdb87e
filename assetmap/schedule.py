"""When an activity happens: recurrence rules, their text form, and the next sessions.

Rules carry what real feeds publish (OpenActive `eventSchedule`, ORUK `schedules`, iCalendar
RRULE): weekly and monthly patterns ("first Monday", "last Friday"), intervals, start and end
times, validity dates, exception dates, and one-off dated sessions. Times are wall-clock times
in Europe/London; occurrences are computed with zoneinfo so British Summer Time is respected.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

from dateutil import rrule

from assetmap.errors import ScheduleError

LONDON = ZoneInfo("Europe/London")
DAY_CODES: tuple[str, ...] = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES: dict[str, str] = dict(zip(DAY_CODES, (
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True))
_RRULE_DAYS = dict(zip(DAY_CODES, (rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA,
                                   rrule.SU), strict=True))
# Anchor for "every other week" when a rule gives no start date: a fixed Monday, so the
# fortnight parity never depends on when the rule was read.
_INTERVAL_ANCHOR = date(2024, 1, 1)
INTERVAL_ANCHOR = _INTERVAL_ANCHOR  # for publishers that must state a start date

Kind = Literal["weekly", "monthly", "daily", "once"]
EVERY_WEEKDAY: frozenset[int] = frozenset(range(7))


@dataclass(frozen=True)
class ScheduleRule:
    kind: Kind
    start_time: time | None = None
    end_time: time | None = None
    days: tuple[str, ...] = ()
    positions: tuple[int, ...] = ()  # monthly: 1..5 = first..fifth, -1 = last
    interval: int = 1
    valid_from: date | None = None
    valid_to: date | None = None
    except_dates: tuple[date, ...] = ()
    on_date: date | None = None  # the date of a one-off session

    def __post_init__(self) -> None:
        if self.kind == "once" and self.on_date is None:
            raise ScheduleError("a one-off session needs a date")
        if self.kind in ("weekly", "monthly") and not self.days:
            raise ScheduleError(f"a {self.kind} schedule needs at least one day")
        bad = [d for d in self.days if d not in DAY_CODES]
        if bad:
            raise ScheduleError(f"unknown day {bad[0]!r}; use one of {', '.join(DAY_CODES)}")
        if self.interval < 1:
            raise ScheduleError("interval must be 1 or more")
        if any(p == 0 or not -5 <= p <= 5 for p in self.positions):
            raise ScheduleError("monthly positions are 1 to 5, or -1 for the last")

    @property
    def weekdays(self) -> frozenset[int]:
        """The weekdays (0 = Monday) its sessions can fall on: a one-off's date's, else the
        days it names, or every day when it names none (daily)."""
        if self.kind == "once":
            assert self.on_date is not None  # a one-off rule always has its date
            return frozenset({self.on_date.weekday()})
        return frozenset(DAY_CODES.index(d) for d in self.days) or EVERY_WEEKDAY

    # -- serialisation (JSON column / API) -------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start_time": self.start_time.strftime("%H:%M") if self.start_time else None,
            "end_time": self.end_time.strftime("%H:%M") if self.end_time else None,
            "days": list(self.days),
            "positions": list(self.positions),
            "interval": self.interval,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "except_dates": [d.isoformat() for d in self.except_dates],
            "on_date": self.on_date.isoformat() if self.on_date else None,
            "text": describe(self),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ScheduleRule:
        def t(v: str | None) -> time | None:
            return time.fromisoformat(v) if v else None

        def d(v: str | None) -> date | None:
            return date.fromisoformat(v) if v else None

        return cls(
            kind=data["kind"],
            start_time=t(data.get("start_time")),
            end_time=t(data.get("end_time")),
            days=tuple(data.get("days") or ()),
            positions=tuple(data.get("positions") or ()),
            interval=int(data.get("interval") or 1),
            valid_from=d(data.get("valid_from")),
            valid_to=d(data.get("valid_to")),
            except_dates=tuple(date.fromisoformat(x) for x in data.get("except_dates") or ()),
            on_date=d(data.get("on_date")),
        )


@lru_cache(maxsize=4096)
def rule_from_json(text: str) -> ScheduleRule:
    """A stored rule from its JSON text, parsed once per distinct text: a search reads the
    rules of hundreds of listings and most say the same few things ("Tuesdays 10-11"). Rules
    are frozen, so sharing one is safe."""
    return ScheduleRule.from_dict(json.loads(text))


def session_weekdays(rules: Iterable[ScheduleRule]) -> int:
    """The weekdays these rules' sessions can fall on, as bits (Monday 1, Tuesday 2 … Sunday
    64): stored beside a listing's rules so that a day filter is a test of one number.
    A superset: `occurrences` still decides (a fortnight's off week, validity, exceptions)."""
    days = 0
    for rule in rules:
        for weekday in rule.weekdays:
            days |= 1 << weekday
    return days


def may_meet_on(weekdays: int | None, weekday: int) -> bool:
    """Whether a listing whose `session_weekdays` are these could meet on `weekday` (0 =
    Monday): a superset, so a day filter drops six listings in seven before their rules are
    worked out; a listing whose days were never worked out (None) passes."""
    return weekdays is None or bool(weekdays & (1 << weekday))


@dataclass(frozen=True, order=True)
class Session:
    start: datetime
    end: datetime | None = field(default=None, compare=False)

    def to_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None}


# -- occurrences ---------------------------------------------------------------------------

def _dates(rule: ScheduleRule, first: date, last: date) -> Iterator[date]:
    if rule.kind == "once":
        assert rule.on_date is not None
        if first <= rule.on_date <= last:
            yield rule.on_date
        return
    lo = max(first, rule.valid_from) if rule.valid_from else first
    hi = min(last, rule.valid_to) if rule.valid_to else last
    if lo > hi:
        return
    skip = set(rule.except_dates)
    if rule.kind in ("weekly", "daily"):
        # Plain date arithmetic: most listings are weekly, and rrule costs ~10x as much.
        weekdays = rule.weekdays
        anchor = rule.valid_from or _INTERVAL_ANCHOR
        period = 7 if rule.kind == "weekly" else 1
        anchor_week = anchor - timedelta(days=anchor.weekday()) if period == 7 else anchor
        day = lo
        while day <= hi:
            if day.weekday() in weekdays and day not in skip and (
                    rule.interval == 1
                    or ((day - timedelta(days=day.weekday()) if period == 7 else day)
                        - anchor_week).days // period % rule.interval == 0):
                yield day
            day += timedelta(days=1)
        return
    positions = rule.positions or (1, 2, 3, 4, 5)
    byweekday = [_RRULE_DAYS[d](p) for d in rule.days for p in positions]
    anchor = (rule.valid_from or _INTERVAL_ANCHOR).replace(day=1)
    if rule.interval > 1 and anchor > lo:
        # Keep the parity of the anchor when looking before it.
        anchor = lo.replace(day=1)
    start = anchor if rule.interval > 1 else lo
    recurrence = rrule.rrule(rrule.MONTHLY, interval=rule.interval, byweekday=byweekday,
                             dtstart=datetime.combine(start, time()),
                             until=datetime.combine(hi, time()), wkst=rrule.MO)
    for dt in recurrence:
        day = dt.date()
        if day >= lo and day not in skip:
            yield day


def _local(day: date, at: time | None) -> datetime:
    # fold=0 picks the first of a repeated hour; zoneinfo moves a skipped hour forward.
    return datetime.combine(day, at or time(0, 0), tzinfo=LONDON)


def occurrences(rules: Iterable[ScheduleRule], start: datetime, end: datetime) -> list[Session]:
    """Every session of the rules that starts in [start, end), in London time, sorted."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("occurrences() needs timezone-aware datetimes")
    first = start.astimezone(LONDON).date() - timedelta(days=1)
    last = end.astimezone(LONDON).date()
    sessions: set[Session] = set()
    for rule in rules:
        for day in _dates(rule, first, last):
            begins = _local(day, rule.start_time)
            if not start <= begins < end:
                continue
            finishes = None
            if rule.end_time:
                end_day = day + timedelta(days=1) if rule.end_time <= (
                    rule.start_time or time()) else day
                finishes = _local(end_day, rule.end_time)
            sessions.add(Session(begins, finishes))
    return sorted(sessions)


def next_sessions(rules: Iterable[ScheduleRule], now: datetime, *, count: int = 3,
                  horizon_days: int = 120) -> list[Session]:
    """The next `count` sessions from `now` (a session under way counts as next)."""
    rules = list(rules)
    found = occurrences(rules, now - timedelta(hours=12), now + timedelta(days=horizon_days))
    upcoming = [s for s in found if (s.end or s.start) > now]
    return upcoming[:count]


# -- text form -----------------------------------------------------------------------------

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3,
             "fourth": 4, "4th": 4, "fifth": 5, "5th": 5, "last": -1}
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}
_DAY_WORDS: dict[str, str] = {}
for _code, _name in DAY_NAMES.items():
    for _w in (_name.lower(), _name.lower() + "s", _name[:3].lower(), _name[:3].lower() + "s"):
        _DAY_WORDS[_w] = _code
_DAY_WORDS.update({"tues": "TU", "weds": "WE", "thur": "TH", "thurs": "TH"})
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)?"
_RANGE_RE = re.compile(_TIME + r"\s*(?:-|–|—|to|until)\s*" + _TIME + r"\s*$")
_CLOCK_RE = re.compile(_TIME)
_SINGLE_TIME_RE = re.compile(r"(?:at\s+)?" + _TIME + r"\s*$")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _clock(hour: str, minute: str | None, meridiem: str | None, *, text: str) -> time:
    h, m = int(hour), int(minute or 0)
    if meridiem:
        if not 1 <= h <= 12:
            raise ScheduleError(f"{text!r}: {h}{meridiem} is not a time")
        h = h % 12 + (12 if meridiem == "pm" else 0)
    if not (0 <= h <= 23 and 0 <= m <= 59):
        raise ScheduleError(f"{text!r}: {hour}:{minute or '00'} is not a time")
    return time(h, m)


def parse_clock(text: str) -> time:
    """A clock time as people write it ('10', '10:30', '2.30pm', '14:00'); ScheduleError if
    it is not one. The one reading of a time of day, shared with schedule text."""
    match = _CLOCK_RE.fullmatch(text.strip().lower())
    if not match:
        raise ScheduleError(f"{text!r} is not a time like 10:00 or 2:30pm")
    return _clock(*match.groups(), text=text)


def _parse_times(chunk: str, text: str) -> tuple[str, time | None, time | None]:
    match = _RANGE_RE.search(chunk)
    if match:
        h1, m1, ap1, h2, m2, ap2 = match.groups()
        if ap2 and not ap1 and int(h1) <= 12:
            # "10-12pm", "2-4pm": the first time shares the second's am/pm unless that
            # would put it after the end ("10-12pm" is 10am to noon).
            ap1 = ap2 if (int(h1) % 12) <= (int(h2) % 12) or ap2 == "am" else "am"
        start = _clock(h1, m1, ap1, text=text)
        end = _clock(h2, m2, ap2, text=text)
        return chunk[: match.start()].strip(), start, end
    match = _SINGLE_TIME_RE.search(chunk)
    if match and (match.group(2) or match.group(3)):
        return chunk[: match.start()].strip(), _clock(*match.groups(), text=text), None
    return chunk, None, None


def _calendar_date(value: str, text: str) -> date:
    """A date written YYYY-MM-DD that is on the calendar (not 2026-02-30, not year 0)."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ScheduleError(f"{text!r}: {value} is not a date on the calendar") from None


def parse_schedule(text: str) -> list[ScheduleRule]:
    """Rules from the simple text form used in spreadsheets and forms.

    Examples: "Tuesdays 10:00-12:00", "Mon and Thu 2pm-3.30pm", "first Monday 14:00-16:00",
    "last Friday of the month 10am-12pm", "every other Wednesday 18:00-20:00",
    "weekdays 9:30-11:00", "2026-12-05 14:00-16:00", several rules joined with ";", and an
    "except 2026-12-25, 2027-01-01" tail on any rule.
    """
    if not text or not text.strip():
        raise ScheduleError("schedule is empty; write e.g. 'Tuesdays 10:00-12:00'")
    rules = [_parse_one(part.strip(), text) for part in text.split(";") if part.strip()]
    if not rules:  # e.g. ";" alone
        raise ScheduleError("schedule is empty; write e.g. 'Tuesdays 10:00-12:00'")
    return rules


def _parse_one(chunk: str, text: str) -> ScheduleRule:
    lowered, except_dates = _except_dates(chunk.lower().replace(",", " , "), text)
    body, start, end = _parse_times(lowered.strip(" ,"), text)
    if start is None:
        raise ScheduleError(
            f"{text!r}: no time found; write a time range like '10:00-12:00' or '2pm-4pm'")
    dates = _DATE_RE.findall(body)
    if dates:
        if len(dates) > 1:
            raise ScheduleError(f"{text!r}: one date per rule; separate rules with ';'")
        return ScheduleRule("once", start, end, on_date=_calendar_date(dates[0], text))
    words = [w for w in re.split(r"[\s,/&]+", body) if w and w not in (
        "and", "every", "each", "on", "of", "the", "month", "at", "from", "week", "weekly")]
    kind, days, positions, interval = _recurrence(words, text)
    if positions:
        kind = "monthly"
    if kind == "monthly" and not positions:
        raise ScheduleError(f"{text!r}: say which week of the month, e.g. 'first Monday'")
    if kind in ("weekly", "monthly") and not days:
        raise ScheduleError(f"{text!r}: no day found; write e.g. 'Tuesdays 10:00-12:00'")
    ordered = tuple(sorted(set(days), key=DAY_CODES.index))
    return ScheduleRule(kind, start, end, days=ordered, positions=tuple(sorted(set(positions))),
                        interval=interval, except_dates=except_dates)


def _except_dates(lowered: str, text: str) -> tuple[str, tuple[date, ...]]:
    """The rule without its "except 2026-12-25, ..." tail, and the dates in that tail."""
    if " except " not in f" {lowered} ":
        return lowered, ()
    lowered, _, tail = lowered.partition("except")
    found = _DATE_RE.findall(tail)
    if not found:
        raise ScheduleError(f"{text!r}: 'except' needs dates like 2026-12-25")
    return lowered, tuple(_calendar_date(d, text) for d in found)


def _recurrence(words: list[str], text: str) -> tuple[Kind, list[str], list[int], int]:
    """(kind, days, week-of-month positions, interval) from a rule's words."""
    days: list[str] = []
    positions: list[int] = []
    interval = 1
    kind: Kind = "weekly"
    for word in words:
        if word in _DAY_WORDS:
            days.append(_DAY_WORDS[word])
        elif word in _ORDINALS:
            positions.append(_ORDINALS[word])
        elif word in ("other", "fortnightly", "alternate"):
            interval = 2
        elif word in ("daily", "day", "days"):
            kind = "daily"
        elif word in ("weekdays", "weekday"):
            days.extend(DAY_CODES[:5])
        elif word in ("weekends", "weekend"):
            days.extend(DAY_CODES[5:])
        elif word in ("monthly",):
            kind = "monthly"
        else:
            raise ScheduleError(
                f"{text!r}: did not understand {word!r}; write e.g. 'Tuesdays 10:00-12:00' or "
                "'first Monday 14:00-16:00'")
    return kind, days, positions, interval


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def describe(rule: ScheduleRule) -> str:
    """Plain words for people, parseable back by `parse_schedule` for the common forms."""
    times = ""
    if rule.start_time:
        times = rule.start_time.strftime("%H:%M")
        if rule.end_time:
            times += "-" + rule.end_time.strftime("%H:%M")
    days = [DAY_NAMES[d] for d in rule.days]
    if rule.kind == "once":
        assert rule.on_date is not None
        text = f"{rule.on_date.isoformat()} {times}"
    elif rule.kind == "daily":
        text = f"{'Daily' if not days else _join([d + 's' for d in days])} {times}"
    elif rule.kind == "weekly":
        every = "Every other " if rule.interval == 2 else (
            f"Every {rule.interval} weeks on " if rule.interval > 2 else "")
        text = f"{every}{_join(days if every else [d + 's' for d in days])} {times}"
    elif rule.positions:
        text = f"{_join([_ORDINAL_WORDS[p] for p in rule.positions])} {_join(days)} {times}"
        text = text[0].upper() + text[1:]
    else:  # monthly on every such weekday is simply weekly
        text = f"{_join([d + 's' for d in days])} {times}"
    if rule.except_dates:
        text += " except " + ", ".join(d.isoformat() for d in rule.except_dates)
    return text.strip()


def describe_all(rules: Iterable[ScheduleRule]) -> str:
    return "; ".join(describe(r) for r in rules)


# -- words for people (not parsed back: `describe` is the stored form) --------------------

def clock_words(at: time) -> str:
    """'10am', '2:30pm', '12 noon', 'midnight': the one way times are said to people."""
    if at.hour == 12 and at.minute == 0:
        return "12 noon"
    if at.hour == 0 and at.minute == 0:
        return "midnight"
    minutes = f":{at.minute:02d}" if at.minute else ""
    return f"{at.hour % 12 or 12}{minutes}{'am' if at.hour < 12 else 'pm'}"


def date_words(day: date) -> str:
    """'Saturday 5 December 2026'."""
    return f"{DAY_NAMES[DAY_CODES[day.weekday()]]} {day.day} {day:%B %Y}"


def _times_words(rule: ScheduleRule) -> str:
    if rule.start_time is None:
        return ""
    if rule.end_time is None:
        return f"from {clock_words(rule.start_time)}"
    return f"{clock_words(rule.start_time)} to {clock_words(rule.end_time)}"


def rule_words(rule: ScheduleRule) -> str:
    """'Mondays and Thursdays, 2pm to 3pm'; 'First and third Tuesday of the month, 10am to
    12 noon'; 'Saturday 5 December 2026, 2pm to 4pm': what the public pages say."""
    days = [DAY_NAMES[d] for d in rule.days]
    if rule.kind == "once":
        assert rule.on_date is not None
        when = date_words(rule.on_date)
    elif rule.kind == "daily" and not days:
        when = "Every day"
    elif rule.kind == "weekly" and rule.interval == 2:
        when = f"Every other {_join(days)}"
    elif rule.kind == "weekly" and rule.interval > 2:
        when = f"Every {rule.interval} weeks on {_join(days)}"
    elif rule.kind == "monthly" and rule.positions:
        ordinals = _join([_ORDINAL_WORDS[p] for p in rule.positions])
        when = f"{ordinals[0].upper()}{ordinals[1:]} {_join(days)} of the month"
    else:
        when = _join([d + "s" for d in days])
    text = ", ".join(part for part in (when, _times_words(rule)) if part)
    if rule.valid_from and rule.kind != "once":
        text += f", from {date_words(rule.valid_from)}"
    if rule.valid_to and rule.kind != "once":
        text += f", until {date_words(rule.valid_to)}"
    if rule.except_dates:
        text += " (not on " + _join([date_words(d) for d in rule.except_dates]) + ")"
    return text


def schedule_words(rules: Iterable[ScheduleRule]) -> str:
    return "; ".join(rule_words(r) for r in rules)


def with_exceptions(rule: ScheduleRule, dates: Iterable[date]) -> ScheduleRule:
    return replace(rule, except_dates=tuple(sorted(set(rule.except_dates) | set(dates))))
