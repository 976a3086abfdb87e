"""How fresh a listing is: the rules, in one place (explained for coordinators in
docs/FRESHNESS.md; keep the two telling the same story).

Evidence. Each human check (a verification event) earns the listing a stretch of freshness:
its *weight* times the category's re-check *interval*. A connector's visit, an organiser's
confirmation, a phone call or a coordinator's check earn the whole interval; weaker evidence
earns less. The listing is due for a check when the longest-lasting credit runs out. A feed
merely still listing an activity ("source-seen") earns nothing on its own; after a human
check it can only postpone the due date by as long as the feed kept listing it, at most a
quarter of the interval. A one-off event is due on its date at the latest.

States (from the due date and the time now): fresh; due soon (within 30 days of the due
date); stale (on or past it); very stale (more than 182 days past it); possibly closed (a feed
dropped it or someone reported it closed, and no person has checked it since); unknown (no
person has ever checked it). The due date never depends on "now", so it can be cached
(`activities.freshness_due_at`) and the state worked out at query time by `state_at`, in
Python and in SQL alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from assetmap import vocab
from assetmap.errors import ConfigError
from assetmap.schedule import LONDON, ScheduleRule
from assetmap.values import ago, span

if TYPE_CHECKING:
    from sqlalchemy import Row

    from assetmap.models import Activity

DEFAULT_INTERVAL = timedelta(days=182)  # about six months for regular groups
MIN_INTERVAL = timedelta(days=60)  # shorter would make every check "due soon" at once
DUE_SOON_WINDOW = timedelta(days=30)
VERY_STALE_AFTER = timedelta(days=182)  # overdue by this much: very stale
SIGHTING_BONUS = 0.25  # a feed can postpone the due date by up to this share of the interval
#: A feed that lists everything and has missed a listing this many runs running: "dropped it".
MISSES_BEFORE_POSSIBLY_CLOSED = 3

STATES: tuple[str, ...] = ("fresh", "due-soon", "stale", "very-stale", "possibly-closed",
                           "unknown")
#: States that do not change with time: only a new check or a closure signal moves them.
STICKY_STATES: frozenset[str] = frozenset({"possibly-closed", "unknown"})
#: "Needs a check": ranked lower for the public, counted as stale on coordinators' maps.
NEEDS_CHECK: frozenset[str] = frozenset({"stale", "very-stale", "possibly-closed", "unknown"})
STATE_LABELS = {
    "fresh": "Fresh", "due-soon": "Due a check soon", "stale": "Stale",
    "very-stale": "Very stale", "possibly-closed": "Possibly closed",
    "unknown": "Never checked",
}
#: The symbol inside each state's marker on every map (public map, ward maps to share, keys):
#: shape and symbol as well as colour, never colour alone.
STATE_SYMBOLS: dict[str, str] = {
    "fresh": "✓", "due-soon": "•", "stale": "!", "very-stale": "!", "possibly-closed": "×",
    "unknown": "?",
}
METHOD_WORDS = {
    "source-seen": "seen in a feed",
    "community-sighted": "a community suggestion said it still runs (details not checked)",
    "source-assured": "assured by the directory that publishes it",
    "connector-visited": "on a connector visit",
    "phoned": "by phone",
    "organiser-confirmed": "confirmed by the organiser",
    "client-attended": "a client went",
    "coordinator-checked": "checked by a coordinator",
    "community-suggested": "suggested by the community, approved by a coordinator",
    "imported": "from a coordinator's list",
}


def method_words(method: str) -> str:
    """'By phone': a verification method in words (an unknown one as it was stored)."""
    words = METHOD_WORDS.get(method, method)
    return words[:1].upper() + words[1:]


#: How much of the interval each kind of evidence earns. 0: never makes a listing fresh.
METHOD_WEIGHTS: Mapping[str, float] = {
    "connector-visited": 1.0,
    "organiser-confirmed": 1.0,
    "phoned": 1.0,
    "coordinator-checked": 1.0,
    "client-attended": 0.75,
    "source-assured": 0.75,
    "community-suggested": 0.5,
    "imported": 0.5,
    "source-seen": 0.0,
    "community-sighted": 0.0,
}
#: Categories whose offer changes faster than regular groups' (configurable on top).
DEFAULT_CATEGORY_DAYS: Mapping[str, int] = {"days-out": 91}


@dataclass(frozen=True)
class Rules:
    """The configurable part: re-check intervals per category, and evidence weights."""

    default_interval: timedelta = DEFAULT_INTERVAL
    intervals: Mapping[str, timedelta] = field(default_factory=lambda: {
        c: timedelta(days=d) for c, d in DEFAULT_CATEGORY_DAYS.items()})
    weights: Mapping[str, float] = field(default_factory=lambda: dict(METHOD_WEIGHTS))

    def interval_for(self, category: str | None) -> timedelta:
        return self.intervals.get(category or "", self.default_interval)

    def weight(self, method: str | None) -> float:
        return self.weights.get(method or "", 0.0)

    @classmethod
    def from_config(cls, config: Mapping) -> Rules:
        """From FRESHNESS_DEFAULT_DAYS and FRESHNESS_INTERVALS ("walking-group=90,...")."""
        default = _days(config.get("FRESHNESS_DEFAULT_DAYS") or DEFAULT_INTERVAL.days,
                        "FRESHNESS_DEFAULT_DAYS")
        intervals = {c: timedelta(days=d) for c, d in DEFAULT_CATEGORY_DAYS.items()}
        raw = config.get("FRESHNESS_INTERVALS") or ""
        pairs = raw.items() if isinstance(raw, Mapping) else (
            part.split("=", 1) for part in str(raw).split(",") if part.strip())
        for pair in pairs:
            if len(pair) != 2:
                raise ConfigError("FRESHNESS_INTERVALS: write category=days pairs separated by "
                                  "commas, e.g. 'walking-group=90,days-out=60'")
            category, days = str(pair[0]).strip(), pair[1]
            if category not in vocab.CATEGORY_IDS:
                raise ConfigError(f"FRESHNESS_INTERVALS: unknown category {category!r}")
            intervals[category] = _days(days, f"FRESHNESS_INTERVALS[{category}]")
        return cls(default, intervals)


def _days(raw: object, name: str) -> timedelta:
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ConfigError(f"{name}: {raw!r} is not a whole number of days") from None
    if timedelta(days=days) < MIN_INTERVAL:
        raise ConfigError(f"{name}: {days} days is shorter than the {MIN_INTERVAL.days}-day "
                          "minimum")
    return timedelta(days=days)


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Check:
    """A human verification: when, and how."""

    at: datetime
    method: str


@dataclass(frozen=True)
class Signal:
    """Evidence that a listing may have stopped; `at` None when its time is not known."""

    at: datetime | None
    reason: str


@dataclass(frozen=True)
class Due:
    """What the evidence says, independent of the time now (cached by the freshness job)."""

    due_at: datetime
    sticky: str | None  # "unknown" / "possibly-closed" / None
    last_check: Check | None
    reason: str | None = None
    one_off_until: datetime | None = None


@dataclass(frozen=True)
class Freshness:
    state: str
    last_verified_at: datetime | None
    method: str | None
    due_at: datetime | None
    words: str
    reason: str | None = None

    @property
    def is_stale(self) -> bool:
        return self.state in NEEDS_CHECK

    def to_dict(self) -> dict:
        return {
            "state": self.state,
            "label": STATE_LABELS[self.state],
            "last_verified_at": self.last_verified_at.isoformat() if self.last_verified_at
            else None,
            "last_verified_method": self.method,
            "due_at": self.due_at.isoformat() if self.due_at else None,
            "words": self.words,
            "reason": self.reason,
        }


def one_off_end(rules: Iterable[ScheduleRule]) -> datetime | None:
    """When the last session of a listing made only of one-off dates ends; else None."""
    rules = list(rules)
    if not rules or any(r.kind != "once" or r.on_date is None for r in rules):
        return None
    ends = [datetime.combine(r.on_date, r.end_time or r.start_time or time(23, 59),
                             tzinfo=LONDON) for r in rules if r.on_date]
    return max(ends).astimezone(UTC)


def evaluate(checks: Iterable[Check], *, interval: timedelta, created_at: datetime,
             rules: Rules = DEFAULT_RULES, last_seen_by_source_at: datetime | None = None,
             one_off_until: datetime | None = None, signals: Iterable[Signal] = ()) -> Due:
    """The due date and the sticky state from a listing's evidence (see the module notes)."""
    best: tuple[datetime, Check] | None = None
    last: Check | None = None
    for check in checks:
        weight = rules.weight(check.method)
        if weight <= 0:
            continue
        until = check.at + interval * weight
        if best is None or until > best[0]:
            best = (until, check)
        if last is None or check.at >= last.at:
            last = check
    reason = None
    if best is None:
        # Never checked: due from the day it was listed, so the oldest come first.
        due_at, sticky = created_at, "unknown"
    else:
        due_at, basis = best
        sticky = None
        if last_seen_by_source_at is not None and last_seen_by_source_at > basis.at:
            due_at += min(interval * SIGHTING_BONUS, last_seen_by_source_at - basis.at)
        if one_off_until is not None and one_off_until < due_at:
            due_at = one_off_until
            reason = f"one-off event on {_day(one_off_until)}"
    # A person's check after a signal answers it; a signal of unknown time always counts.
    live = [s for s in signals if s.at is None or last is None or s.at > last.at]
    if live:
        known = [s.at for s in live if s.at is not None]
        return Due(min([due_at, *known]), "possibly-closed", last,
                   "; ".join(s.reason for s in live), one_off_until)
    return Due(due_at, sticky, last, reason, one_off_until)


def state_at(due_at: datetime, now: datetime, sticky: str | None = None) -> str:
    """The state at `now` of a listing due at `due_at` (its due date counts as stale)."""
    if sticky in STICKY_STATES:
        return sticky
    if now >= due_at + VERY_STALE_AFTER:
        return "very-stale"
    if now >= due_at:
        return "stale"
    if now >= due_at - DUE_SOON_WINDOW:
        return "due-soon"
    return "fresh"


def describe(due: Due, now: datetime) -> Freshness:
    """State and plain words at `now`."""
    state = state_at(due.due_at, now, due.sticky)
    check = due.last_check
    reason = due.reason
    if reason and due.one_off_until is not None and state in ("stale", "very-stale") and (
            now >= due.one_off_until):
        reason = f"the one-off event on {_day(due.one_off_until)} has passed"
    return Freshness(state, check.at if check else None, check.method if check else None,
                     None if state == "unknown" else due.due_at,
                     words(state, check.at if check else None, check.method if check else None,
                           now), reason)


def words(state: str, last_verified_at: datetime | None, method: str | None,
          now: datetime) -> str:
    """'checked 3 months ago, by phone', 'not checked for 8 months (last check: by phone)'."""
    if last_verified_at is None:
        return "never checked"
    how = METHOD_WORDS.get(method or "", method or "")
    when = ago(last_verified_at, now)
    if state in ("stale", "very-stale"):
        return f"not checked for {when.removesuffix(' ago')}" + (
            f" (last check: {how})" if how else "")
    return f"checked {when}" + (f", {how}" if how else "")


def from_cache(cached_state: str | None, due_at: datetime, last_verified_at: datetime | None,
               method: str | None, now: datetime) -> Freshness:
    """Freshness from the cached due date and state (what the freshness job stored)."""
    state = state_at(due_at, now, _sticky(cached_state))
    return Freshness(state, last_verified_at, method, None if state == "unknown" else due_at,
                     words(state, last_verified_at, method, now))


def assess(last_verified_at: datetime | None, method: str | None, now: datetime, *,
           interval: timedelta = DEFAULT_INTERVAL, possibly_closed: bool = False) -> Freshness:
    """Freshness from one check alone (a listing not yet seen by the freshness job)."""
    return describe(_one_check(last_verified_at, method, now, interval, possibly_closed), now)


def _one_check(last_verified_at: datetime | None, method: str | None, now: datetime,
               interval: timedelta, possibly_closed: bool) -> Due:
    checks = [Check(last_verified_at, method or "")] if last_verified_at else []
    signals = [Signal(None, "reported possibly closed")] if possibly_closed else []
    return evaluate(checks, interval=interval, created_at=last_verified_at or now,
                    signals=signals)


def _sticky(cached_state: str | None) -> str | None:
    return cached_state if cached_state in STICKY_STATES else None


def overdue_words(due_at: datetime, now: datetime) -> str:
    """'due in 3 weeks', 'due tomorrow', 'due today', '4 months overdue'."""
    if due_at > now:
        days = (due_at - now).days
        return "due today" if days == 0 else "due tomorrow" if days == 1 else (
            f"due in {span(days)}")
    days = (now - due_at).days
    return "due today" if days == 0 else f"{span(days)} overdue"


def _day(moment: datetime) -> str:
    local = moment.astimezone(LONDON)
    return f"{local.day} {local.strftime('%B %Y')}"


def current(now: datetime, *, cached_state: str | None, due_at: datetime | None,
            last_verified_at: datetime | None, method: str | None,
            category: str | None = None, possibly_closed: bool = False) -> Freshness:
    """A listing's freshness for display, from its columns: the freshness job's cached due
    date, or its last check alone when the job has not seen it yet."""
    if due_at is not None:
        return from_cache(cached_state, due_at, last_verified_at, method, now)
    return assess(last_verified_at, method, now,
                  interval=DEFAULT_RULES.interval_for(category), possibly_closed=possibly_closed)


def current_state(now: datetime, *, cached_state: str | None, due_at: datetime | None,
                  last_verified_at: datetime | None, method: str | None,
                  category: str | None = None, possibly_closed: bool = False) -> str:
    """`current(...).state` without the words: a search ranks a thousand listings and shows
    fifty, so only those fifty need their freshness in words."""
    due, sticky = standing_due(cached_state=cached_state, due_at=due_at,
                               last_verified_at=last_verified_at, method=method,
                               category=category, possibly_closed=possibly_closed)
    return state_at(now if due is None else due, now, sticky)


def standing_due(*, cached_state: str | None, due_at: datetime | None,
                 last_verified_at: datetime | None, method: str | None,
                 category: str | None = None, possibly_closed: bool = False
                 ) -> tuple[datetime | None, str | None]:
    """The due date and sticky state a listing's columns give, whatever the time: the state
    at any moment is then `state_at` (what `current_state` does). The due date is None for a
    listing never checked (due from now: its sticky state decides)."""
    if due_at is not None:
        return due_at, _sticky(cached_state)
    due = _one_check(last_verified_at, method, _NEVER_CHECKED,
                     DEFAULT_RULES.interval_for(category), possibly_closed)
    return (None if last_verified_at is None else due.due_at), due.sticky


#: Stands for "now" where a listing was never checked: its due date is then not used.
_NEVER_CHECKED = datetime.min.replace(tzinfo=UTC)


def of_listing(activity: Activity | Row[Any], now: datetime) -> Freshness:
    """`current` for a loaded listing, or a row of its columns."""
    return current(now, cached_state=activity.freshness_state,
                   due_at=activity.freshness_due_at,
                   last_verified_at=activity.last_verified_at,
                   method=activity.last_verified_method, category=activity.category,
                   possibly_closed=bool(activity.possibly_closed))
