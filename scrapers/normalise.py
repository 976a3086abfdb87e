"""Small pure helpers every parser needs: text, dates, postcodes, costs, ages, access, rules.

Feeds say the same things in different shapes (an iCal RRULE, an ORUK schedule row and an
OpenActive eventSchedule are all RRULE-like), so the conversion into `ScheduleRule` and the
vocabulary lives here once. Helpers raise `ValueError`/`ScheduleError` on input they cannot
use; the parsers turn that into a `ParseIssue`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import parser as date_parser

from assetmap.errors import ScheduleError
from assetmap.schedule import DAY_CODES, DAY_NAMES, LONDON, Kind, ScheduleRule, occurrences
from assetmap.values import full_postcode
from assetmap.values import without_postcode as strip_postcode
from scrapers.records import CostKind, Gender

# -- text ----------------------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0]+")
_TAG = re.compile(r"<[^>]+>")


def clean(value: Any) -> str | None:
    """Trimmed text, or None for missing/empty values. Numbers become text."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def plain(value: Any) -> str | None:
    """Text with HTML tags removed (descriptions are sometimes HTML fragments)."""
    text = clean(value)
    if text is None or "<" not in text:
        return text
    return clean(_TAG.sub(" ", text.replace("<br>", "\n").replace("<br/>", "\n")))


def absolute(base_url: str | None, link: Any) -> str | None:
    """A link resolved against the page it is on; None for an empty or malformed link."""
    text = clean(link)
    if not text:
        return None
    try:
        return urljoin(base_url, text) if base_url else text
    except ValueError:  # e.g. "http://[oops/" is not a URL
        return None


def join_parts(*parts: Any) -> str | None:
    """Address-like text from parts, skipping empties and repeats ("London, London")."""
    seen: list[str] = []
    for part in parts:
        text = clean(part)
        if text and text.lower() not in (s.lower() for s in seen):
            seen.append(text.rstrip(","))
    return ", ".join(seen) or None


# -- places --------------------------------------------------------------------------------

def normalise_postcode(value: Any) -> str | None:
    """A UK postcode as "NW1 7AY", or None if the value is not one."""
    return full_postcode(clean(value))


def without_postcode(text: str | None) -> str | None:
    """Text with any UK postcode taken out (it is kept in its own field)."""
    return clean(strip_postcode(text))


def coordinates(lat: Any, lon: Any) -> tuple[float, float] | None:
    """Valid WGS84 (lat, lon), or None; (0, 0) is treated as "not set"."""
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (-90 <= la <= 90 and -180 <= lo <= 180) or (la == 0 and lo == 0):
        return None
    return la, lo


_COORDINATE_NAME = re.compile(r"^\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*$")


def looks_like_coordinates(text: str | None) -> bool:
    """Some publishers put "52.04, -0.75" in a place's name; that is not a name."""
    return bool(text and _COORDINATE_NAME.match(text))


# -- dates and times -----------------------------------------------------------------------

def zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe/" is a directory
        return None


def parse_datetime(value: Any) -> datetime | date | None:
    """A date or datetime from ISO 8601 text (any common variant); None if unparseable."""
    text = clean(value)
    if not text:
        return None
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        pass
    try:
        return date_parser.isoparse(text)
    except (ValueError, OverflowError):
        return None


def parse_date(value: Any) -> date | None:
    parsed = parse_datetime(value)
    if isinstance(parsed, datetime):
        return to_london(parsed).date()
    return parsed


def parse_modified(value: Any) -> datetime | None:
    """A timezone-aware modification time; naive values are taken as UTC."""
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if not isinstance(parsed, datetime):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_london(moment: datetime, *, floating: tzinfo = LONDON) -> datetime:
    """Europe/London wall-clock for a moment; a naive (floating) one is read in `floating`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=floating)
    return moment.astimezone(LONDON)


_TIME = re.compile(r"^(\d{1,2}):?(\d{2})(?::?(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?$",
                   re.IGNORECASE)
# A time-of-day with a UTC offset is ambiguous across summer time. UK publishers write "Z"
# or "+01:00" for local times all year, so those are read as wall-clock times.
_UK_OFFSETS = {"Z", "+00:00", "+0000", "+01:00", "+0100", "-00:00"}


def parse_time(value: Any, *, on: date | None = None) -> time | None:
    """A wall-clock London time from "10:00", "10:00:00", "1000", "09:00-05:00"."""
    text = clean(value)
    if not text:
        return None
    match = _TIME.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a time of day")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        hour, minute = 23, 59
    local = time(hour, minute)
    offset = (match.group(4) or "").upper()
    if not offset or offset in _UK_OFFSETS:
        return local
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[-2:])
    tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    moment = datetime.combine(on or date.today(), local, tzinfo=tz)
    return to_london(moment).time()


_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: Any) -> timedelta | None:
    """An ISO 8601 duration ("PT1H30M", "P1D", "P2W"); None if absent or unparseable."""
    text = (clean(value) or "").upper()
    match = _DURATION.match(text)
    if not text or not match or text in ("P", "PT"):
        return None
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


_DAY_LOOKUP: dict[str, str] = {}
for _code, _name in DAY_NAMES.items():
    for _key in (_code, _name, _name[:3], _name[:2]):
        _DAY_LOOKUP[_key.lower()] = _code


def day_code(value: Any) -> str | None:
    """"MO" from "https://schema.org/Monday", "schema:Monday", "Monday", "Mon" or "MO"."""
    text = clean(value)
    if not text:
        return None
    last = re.split(r"[/#:]", text.rstrip("/"))[-1]
    return _DAY_LOOKUP.get(last.lower())


# -- recurrence ----------------------------------------------------------------------------

_BYDAY = re.compile(r"^([+-]?[1-5])?\s*([A-Z]{2})$")


def _split_byday(entries: Iterable[str]) -> list[tuple[int | None, str]]:
    parsed: list[tuple[int | None, str]] = []
    for entry in entries:
        text = (clean(entry) or "").upper()
        match = _BYDAY.match(text)
        if match and match.group(2) in DAY_CODES:
            parsed.append((int(match.group(1)) if match.group(1) else None, match.group(2)))
            continue
        code = day_code(entry)
        if code is None:
            raise ScheduleError(f"{entry!r} is not a day of the week")
        parsed.append((None, code))
    return parsed


def _ordered(days: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(days), key=DAY_CODES.index))


def recurrence(*, freq: str | None, byday: Iterable[str] = (), interval: int = 1,
               start_time: time | None = None, end_time: time | None = None,
               valid_from: date | None = None, valid_to: date | None = None,
               except_dates: Iterable[date] = (), count: int | None = None,
               bymonthday: Sequence[int] = (), bysetpos: Sequence[int] = (),
               week_of_month: Sequence[int] = ()) -> tuple[ScheduleRule, ...]:
    """`ScheduleRule`s for an RRULE-like pattern (iCal RRULE, ORUK schedule, eventSchedule).

    Returns several rules when one pattern mixes positions ("1MO,-1FR" is the first Monday
    and the last Friday, which one rule's days x positions cannot say). COUNT becomes
    `valid_to`. Raises `ScheduleError` for what `ScheduleRule` cannot represent: yearly
    patterns and days of the month ("the 15th").
    """
    kind = (freq or ("WEEKLY" if byday else "")).upper()
    entries = _split_byday(byday)
    exceptions = tuple(sorted(set(except_dates)))
    every = max(1, interval)

    def rule(of: Kind, days: Iterable[str] = (), positions: tuple[int, ...] = ()) -> ScheduleRule:
        return ScheduleRule(of, start_time, end_time, days=_ordered(days), positions=positions,
                            interval=every, valid_from=valid_from, valid_to=valid_to,
                            except_dates=exceptions)

    if kind == "WEEKLY" or (kind == "DAILY" and entries):
        if not entries:
            raise ScheduleError("a weekly schedule with no day and no start date to take "
                                "the day from")
        rules = [rule("weekly" if kind == "WEEKLY" else "daily", (d for _, d in entries))]
    elif kind == "DAILY":
        rules = [rule("daily")]
    elif kind == "MONTHLY":
        if bymonthday and not entries:
            raise ScheduleError(f"day-of-month schedules (the {list(bymonthday)}) are not "
                                "supported; only weekday patterns like 'first Monday'")
        if not entries:
            raise ScheduleError("a monthly schedule needs a weekday, e.g. first Monday")
        positions = tuple(bysetpos) or tuple(week_of_month)
        if positions:
            entries = [(p, d) for _, d in entries for p in positions]
        if all(p is None for p, _ in entries):
            if every != 1:
                raise ScheduleError("'every Monday, every other month' is not supported")
            rules = [rule("weekly", (d for _, d in entries))]
        else:
            by_day: dict[str, set[int]] = {}
            for position, day in entries:
                by_day.setdefault(day, set()).update(
                    [position] if position is not None else [1, 2, 3, 4, 5])
            groups: dict[tuple[int, ...], list[str]] = {}
            for day, found in by_day.items():
                groups.setdefault(tuple(sorted(found, key=lambda p: (p < 0, p))),
                                  []).append(day)
            rules = [rule("monthly", days, found) for found, days in groups.items()]
    elif kind == "YEARLY":
        raise ScheduleError("yearly schedules are not supported; add the dates as sessions")
    else:
        raise ScheduleError(f"unknown repeat frequency {freq!r}")
    if count:
        last = last_date(rules, count)
        rules = [replace(r, valid_to=min(last, r.valid_to) if r.valid_to else last)
                 for r in rules]
    return tuple(rules)


def last_date(rules: Sequence[ScheduleRule], count: int) -> date:
    """The date of the `count`-th occurrence (iCal COUNT includes excluded dates)."""
    start = min((r.valid_from for r in rules if r.valid_from), default=None)
    if start is None:
        raise ScheduleError("a repeat count needs a start date")
    plain_rules = [replace(r, except_dates=()) for r in rules]
    span = count * max(r.interval for r in rules) * (
        31 if any(r.kind == "monthly" for r in rules) else 7) + 62
    begin = datetime.combine(start, time(), tzinfo=LONDON)
    found = occurrences(plain_rules, begin, begin + timedelta(days=span))
    if not found:
        raise ScheduleError("the repeat pattern has no occurrences")
    return found[min(count, len(found)) - 1].start.date()


def duration_from_schedule(repeat_frequency: Any) -> tuple[str, int] | None:
    """("WEEKLY", 2) from an ISO duration like "P2W"/"P14D"; None if not a simple repeat."""
    text = (clean(repeat_frequency) or "").upper()
    match = re.fullmatch(r"P(\d+)([DWMY])", text)
    if not match:
        return None
    n, unit = int(match.group(1)), match.group(2)
    if unit == "D":
        return ("WEEKLY", n // 7) if n % 7 == 0 else ("DAILY", n)
    return {"W": ("WEEKLY", n), "M": ("MONTHLY", n), "Y": ("YEARLY", n)}[unit]


# -- cost ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    kind: CostKind = "unknown"
    amount: Decimal | None = None
    text: str | None = None


_MONEY = re.compile(r"(£|GBP\s?|\$|€|USD\s?|EUR\s?)?\s*(\d+(?:[.,]\d{1,2})?)\s*(p\b)?",
                    re.IGNORECASE)
_FREE = re.compile(r"\bfree\b|\bno charge\b|\bno cost\b", re.IGNORECASE)
_SMALL_FEE = re.compile(r"donation|contribution|small (?:charge|fee)|pay what you|subs\b|"
                        r"suggested", re.IGNORECASE)


def parse_price(value: Any) -> tuple[Decimal, str | None] | None:
    """(amount, currency) from 5.75, "5.00", "£5", "$35", "50p"; currency None if unstated."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value)), None
    text = clean(value)
    if not text:
        return None
    found = list(_MONEY.finditer(text))
    marked = [m for m in found if m.group(1) or m.group(3)]
    if marked:
        match = marked[0]
    elif found and re.fullmatch(r"\d+(?:[.,]\d{1,2})?", text):
        match = found[0]
    else:
        return None
    try:
        amount = Decimal(match.group(2).replace(",", "."))
    except InvalidOperation:
        return None
    symbol = (match.group(1) or "").strip().upper()
    if match.group(3):
        return amount / 100, "GBP"
    currency = {"£": "GBP", "GBP": "GBP", "$": "USD", "USD": "USD", "€": "EUR",
                "EUR": "EUR"}.get(symbol)
    return amount, currency


def cost_from_prices(prices: Sequence[tuple[Any, str | None, str | None]], *,
                     free: bool | None = None, text: str | None = None) -> Cost:
    """A cost from offers: (price, currency, label) triples plus an "is free" flag.

    Any free option makes it "free" (the text lists the others). Otherwise the cheapest
    paid option is the amount. Prices in another currency are kept only as text.
    """
    labels: list[str] = []
    amounts: list[Decimal] = []
    foreign = False
    for price, currency, label in prices:
        parsed = parse_price(price)
        if parsed is None:
            if label:
                labels.append(label)
            continue
        amount, found_currency = parsed
        currency = (clean(currency) or found_currency or "GBP").upper()
        shown = "free" if amount == 0 else (
            f"£{amount:.2f}" if currency == "GBP" else f"{amount:.2f} {currency}")
        labels.append(f"{label}: {shown}" if label and label.lower() != shown else
                      label or shown)
        if currency == "GBP":
            amounts.append(amount)
        else:
            foreign = True
    note = clean(text)
    summary = "; ".join(dict.fromkeys(labels + ([note] if note else [])))
    if free or (amounts and min(amounts) == 0):
        return Cost("free", None, summary or None)
    if amounts:
        return Cost("amount", min(amounts), summary)
    if summary and not foreign:
        return cost_from_text(summary)
    return Cost("unknown", None, summary or None)


def cost_from_text(text: Any) -> Cost:
    """A cost from free text: "Free", "£3.50 including lunch", "donations welcome"."""
    words = clean(text)
    if not words:
        return Cost()
    if _FREE.search(words) and not re.search(r"\d", words):
        return Cost("free", None, words)
    if _SMALL_FEE.search(words):
        parsed = parse_price(words) if re.search(r"£|\d+p\b", words) else None
        return Cost("small-fee", parsed[0] if parsed else None, words)
    if re.search(r"£\s*\d|\d+p\b|GBP", words, re.IGNORECASE):
        parsed = parse_price(words)
        if parsed:
            return Cost("free" if parsed[0] == 0 else "amount",
                        None if parsed[0] == 0 else parsed[0], words)
    if _FREE.search(words):
        return Cost("free", None, words)
    return Cost("unknown", None, words)


# -- people --------------------------------------------------------------------------------

def age_range(minimum: Any, maximum: Any) -> tuple[int | None, int | None, frozenset[str]]:
    """(age_min, age_max, tags). A minimum of 50+ with no real maximum tags "over-50s".

    A maximum of 99 or more is how many directories write "no upper limit".
    """
    def number(value: Any) -> int | None:
        try:
            return int(float(value)) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    low, high = number(minimum), number(maximum)
    if low is not None and high is not None and low > high:
        low, high = high, low
    open_ended = high is None or high >= 99
    tags = frozenset({"over-50s"}) if low is not None and low >= 50 and open_ended else frozenset()
    return low, high, tags


def age_from_text(text: Any) -> tuple[int | None, int | None]:
    """(min, max) from "18", "18-65", "50+", "60-" (schema.org typicalAgeRange)."""
    words = clean(text) or ""
    match = re.fullmatch(r"(\d{1,3})\s*(?:\+|-|–|to)?\s*(\d{1,3})?", words)
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def gender_restriction(values: Iterable[Any]) -> tuple[Gender, frozenset[str]]:
    """("male"|"female"|"any", tags) from OpenActive genderRestriction values."""
    for value in values:
        name = re.split(r"[/#:]", clean(value) or "")[-1].lower()
        if name in ("maleonly", "male", "men"):
            return "male", frozenset({"men-only"})
        if name in ("femaleonly", "female", "women"):
            return "female", frozenset({"women-only"})
    return "any", frozenset()


_ACCESS_RULES: tuple[tuple[re.Pattern[str], str, tuple[str, str] | None], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), tag, flag) for pattern, tag, flag in (
        (r"\bwheelchair[- ](?:access|accessible|user|friendly)|\bfully accessible"
         r"|\baccessible (?:by|for|to) wheelchair", "wheelchair-accessible",
         ("wheelchair", "yes")),
        (r"\bstep[- ]free|\blevel access|\bramp(?:ed)? access", "step-free",
         ("step_free", "yes")),
        (r"\b(?:accessible|disabled|wheelchair) (?:toilet|wc|loo)s?", "accessible-toilet",
         ("toilets_wheelchair", "yes")),
        (r"\b(?:hearing|induction) loops?", "hearing-loop", ("hearing_loop", "yes")),
        (r"\bdementia\b", "dementia-friendly", None),
    ))
_NEGATED = re.compile(r"\b(?:no|not|without|non)\b[- ]*(?:\w+[- ])?$", re.IGNORECASE)


def _stated(pattern: re.Pattern[str], text: str) -> bool | None:
    """True if the text says it, False if it says the opposite ("no step-free access")."""
    verdict = None
    for match in pattern.finditer(text):
        if _NEGATED.search(text[max(0, match.start() - 16):match.start()]):
            verdict = False if verdict is None else verdict
        else:
            return True
    return verdict


def accessibility(*texts: Any) -> tuple[frozenset[str], dict[str, str]]:
    """Suitability tags and venue flags from free text ("Wheelchair access on all levels").

    Only positive statements count: "no wheelchair access" adds nothing, and a plain
    "not wheelchair accessible" sets the wheelchair flag to "no".
    """
    tags: set[str] = set()
    flags: dict[str, str] = {}
    for text in texts:
        words = clean(text)
        if not words:
            continue
        for pattern, tag, flag in _ACCESS_RULES:
            verdict = _stated(pattern, words)
            if verdict:
                tags.add(tag)
                if flag:
                    flags[flag[0]] = flag[1]
            elif verdict is False and flag and flag[0] not in flags:
                flags[flag[0]] = "no"
    return frozenset(tags), flags


_FLAG_TAGS = {"wheelchair": "wheelchair-accessible", "step_free": "step-free",
              "toilets_wheelchair": "accessible-toilet", "hearing_loop": "hearing-loop"}


def tags_from_flags(flags: Mapping[str, str]) -> frozenset[str]:
    """Suitability tags that venue flags vouch for (wheelchair=yes: wheelchair-accessible)."""
    return frozenset(tag for flag, tag in _FLAG_TAGS.items() if flags.get(flag) == "yes")
