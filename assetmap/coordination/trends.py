"""Trends on the freshness page: four weekly series a coordinator reads at a glance.

* the share of live listings that are fresh,
* checks recorded, by verification method,
* community suggestions received and accepted (approved or merged),
* feed runs, and how many failed.

Weeks run Monday to Sunday in the deployment's time zone (`schedule.LONDON`, the zone every
schedule and date in AssetMap is read in), so a week's edges move with British Summer Time;
the current week runs to the time now. Counts are grouped by week in SQL against a small
table of week edges (`_weeks_cte`), one query per series, whatever the number of rows.

**Share fresh in past weeks.** Counts of checks, suggestions and runs are exact: each row has
its time. The share fresh is a state at an instant, and the rules that make it (checks, feeds'
sightings, closure reports, one-off dates, statuses) are not all kept with their past values.
So:

1. the current week is counted live, exactly as the "By state" bars count it;
2. each day the daily job counts it the same way and keeps the count (`FreshnessSnapshot`),
   so a past week shows its last count: exactly what the page said then;
3. a week before the job first counted is worked out from verification history: a listing
   that existed in the week's last second (created by then, and live now) was fresh if a
   check recorded by then earns it credit (its method's weight times its category's re-check
   interval, `freshness.rules`) lasting beyond that second plus the "due soon" window. This
   is the rules' own due date, less what history does not keep: a feed's sighting bonus, a
   one-off event's end, closure reports, and status changes (a listing ended since is left
   out of every past week). The job keeps these too (`worked_out`, `backfill`), so the page
   reads a small table rather than the whole history; until it has, the page works them
   out as it draws. Each week says which way it was counted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import CTE

from assetmap.community.moderation import ACCEPTED_STATUSES
from assetmap.freshness.due import state_column
from assetmap.freshness.queue import LIVE_STATUSES
from assetmap.freshness.rules import DUE_SOON_WINDOW, METHOD_WORDS, Rules, method_words
from assetmap.models import (
    Activity,
    FreshnessSnapshot,
    ScrapeRun,
    Suggestion,
    VerificationEvent,
)
from assetmap.models.base import UTCDateTime
from assetmap.schedule import LONDON

#: The weeks a chart can show, and the default.
WEEK_CHOICES: tuple[int, ...] = (12, 26)
DEFAULT_WEEKS = 12
MAX_WEEKS = 52
#: "up from 55% four weeks ago": the week the summary compares this week with.
COMPARE_WEEKS_BACK = 4
#: How each past week's share fresh was counted (shown in the table and the CSV).
BASIS_LIVE = "counted now"
BASIS_SNAPSHOT = "counted that week"
BASIS_HISTORY = "worked out from the checks"
#: A past week's share fresh is counted in its last second (`counted_at`).
LAST_SECOND = timedelta(seconds=1)
#: The charts, in page order: key -> title.
TITLES: Mapping[str, str] = {
    "fresh": "Share of listings fresh",
    "checks": "Checks recorded, by how they were made",
    "suggestions": "Community suggestions received and accepted",
    "feeds": "Feed runs that failed",
}


@dataclass(frozen=True)
class Week:
    """A Monday-to-Sunday week in local time, as UTC instants [begins, ends)."""

    start: date
    begins: datetime
    ends: datetime
    current: bool = False

    @property
    def label(self) -> str:
        """'2 Mar' (the Monday)."""
        return f"{self.start.day} {self.start.strftime('%b')}"


@dataclass(frozen=True)
class Series:
    """One column of a trend: `key` for the CSV, `label` in words, a value per week.
    `plotted` series are drawn; the others are in the table and the CSV only."""

    key: str
    label: str
    values: tuple[Any, ...]
    plotted: bool = True


@dataclass(frozen=True)
class Trend:
    """One chart's worth: its weeks, its series, and what to say about it in words."""

    key: str
    title: str
    weeks: tuple[Week, ...]
    series: tuple[Series, ...]
    summary: str | None  # None: nothing to show yet
    empty: str  # what to say instead of a chart when there is no data
    percent: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def plotted(self) -> tuple[Series, ...]:
        return tuple(s for s in self.series if s.plotted)


def weeks_to(now: datetime, count: int) -> tuple[Week, ...]:
    """The `count` weeks ending with the one holding `now` (which ends at `now`)."""
    today = now.astimezone(LONDON).date()
    monday = today - timedelta(days=today.weekday())
    out = []
    for back in range(count - 1, -1, -1):
        start = monday - timedelta(weeks=back)
        begins = _instant(start)
        ends = now if back == 0 else _instant(start + timedelta(weeks=1))
        out.append(Week(start, begins, ends, current=back == 0))
    return tuple(out)


def _instant(day: date) -> datetime:
    """Midnight at the start of `day`, local time, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def _weeks_cte(weeks: Sequence[Week], extra: Mapping[str, Sequence[datetime]] | None = None,
               ends: Sequence[datetime] | None = None) -> CTE:
    """The weeks as a tiny table (week, begins, ends, *extra) for joins: a UNION of one-row
    SELECTs, which both backends read the same way (SQLite has no VALUES ... AS t(cols)).
    `ends` replaces the weeks' own ends (an instant to count at)."""
    rows = []
    for i, week in enumerate(weeks):
        cols = [literal(i, Integer).label("week"),
                literal(week.begins, UTCDateTime()).label("begins"),
                literal(ends[i] if ends else week.ends, UTCDateTime()).label("ends")]
        cols += [literal(values[i], UTCDateTime()).label(name)
                 for name, values in (extra or {}).items()]
        rows.append(select(*cols))
    return union_all(*rows).cte("weeks")


def _per_week(weeks: Sequence[Week], counts: Mapping[int, int]) -> tuple[int, ...]:
    return tuple(int(counts.get(i, 0) or 0) for i in range(len(weeks)))


# -- share fresh ---------------------------------------------------------------------------

def fresh_now(session: Session, now: datetime) -> tuple[int, int]:
    """(live listings, of which fresh) at `now`, as the page's "By state" bars count them."""
    listings, fresh = session.execute(
        select(func.count(), func.coalesce(func.sum(case((state_column(now) == "fresh", 1),
                                                         else_=0)), 0))
        .select_from(Activity).where(Activity.status.in_(LIVE_STATUSES))).one()
    return int(listings), int(fresh)


def take_snapshot(session: Session, now: datetime) -> FreshnessSnapshot:
    """Keep today's count for the trend (the daily job, after it re-caches due dates)."""
    listings, fresh = fresh_now(session, now)
    snapshot = FreshnessSnapshot(taken_at=now, listings=listings, fresh=fresh, worked_out=False)
    session.add(snapshot)
    session.flush()
    return snapshot


def counted_at(week: Week) -> datetime:
    """The instant a week's share fresh describes: the last second of a past week (so it
    falls inside the week), the time now for the current one."""
    return week.ends if week.current else week.ends - LAST_SECOND


def backfill(session: Session, now: datetime, rules: Rules, weeks: int = MAX_WEEKS) -> int:
    """Work out and keep (`worked_out`) the share fresh of each past week, of the last
    `weeks`, that has no count yet and had listings: the page then reads one small table
    instead of the verification history. Safe to repeat: a kept week is never redone."""
    past = [w for w in weeks_to(now, weeks) if not w.current]
    if not past:
        return 0
    kept = _kept_weeks(session, past)
    todo = [w for w in past if w.start not in kept]
    added = 0
    for j, (listings, fresh) in _fresh_from_history(session, todo, rules).items():
        if listings:
            session.add(FreshnessSnapshot(taken_at=counted_at(todo[j]), listings=listings,
                                          fresh=fresh, worked_out=True))
            added += 1
    session.flush()
    return added


def _kept_weeks(session: Session, weeks: Sequence[Week]) -> dict[date, tuple[int, int, str]]:
    """Week's Monday -> (listings, fresh, how counted) from the kept snapshots: a week's last
    count, a counted one before one worked out."""
    mondays = {w.start for w in weeks}
    out: dict[date, tuple[int, int, str]] = {}
    for taken_at, listings, fresh, worked_out in session.execute(
            select(FreshnessSnapshot.taken_at, FreshnessSnapshot.listings,
                   FreshnessSnapshot.fresh, FreshnessSnapshot.worked_out)
            .where(FreshnessSnapshot.taken_at >= weeks[0].begins,
                   FreshnessSnapshot.taken_at < weeks[-1].ends)
            .order_by(FreshnessSnapshot.worked_out.desc(), FreshnessSnapshot.taken_at,
                      FreshnessSnapshot.id)):
        local = taken_at.astimezone(LONDON).date()
        monday = local - timedelta(days=local.weekday())
        if monday in mondays:
            out[monday] = (listings, fresh, BASIS_HISTORY if worked_out else BASIS_SNAPSHOT)
    return out


def _credits(rules: Rules) -> list[tuple[ColumnElement[bool], timedelta]]:
    """(which checks, how long they keep a listing fresh past the due-soon window), one pair
    per distinct re-check interval and evidence weight."""
    intervals: dict[timedelta, list[str]] = defaultdict(list)
    for category, interval in rules.intervals.items():
        intervals[interval].append(category)
    weights: dict[float, list[str]] = defaultdict(list)
    for method, weight in rules.weights.items():
        if weight > 0:
            weights[weight].append(method)
    special = [c for cats in intervals.values() for c in cats]
    groups: list[tuple[ColumnElement[bool], timedelta]] = []
    for interval, categories in [(rules.default_interval, None), *intervals.items()]:
        which = (Activity.category.not_in(special) if categories is None
                 else Activity.category.in_(categories))
        for weight, methods in weights.items():
            groups.append((and_(which, VerificationEvent.method.in_(methods)),
                           interval * weight - DUE_SOON_WINDOW))
    return groups


def _fresh_from_history(session: Session, weeks: Sequence[Week], rules: Rules
                        ) -> dict[int, tuple[int, int]]:
    """Week index -> (listings, fresh) at each week's `counted_at`, from verification history
    (see the module notes for what this leaves out)."""
    if not weeks:
        return {}
    at = [counted_at(w) for w in weeks]
    credits = _credits(rules)
    longest = max(credit for _which, credit in credits)
    cte = _weeks_cte(weeks, {f"t{j}": [moment - credit for moment in at]
                             for j, (_which, credit) in enumerate(credits)}
                     | {"t_min": [moment - longest for moment in at]}, ends=at)
    # A check keeps its listing fresh at the week's end if it was made by then and after
    # (end - credit): the threshold for each check's kind of listing and evidence.
    threshold = case(*[(which, cte.c[f"t{j}"]) for j, (which, _c) in enumerate(credits)],
                     else_=None)
    existed = and_(Activity.status.in_(LIVE_STATUSES), Activity.created_at < cte.c.ends)
    listings = dict(session.execute(
        select(cte.c.week, func.count(Activity.id)).select_from(cte)
        .join(Activity, existed).group_by(cte.c.week)).tuples().all())
    # Driven from the checks of each week's window (an index range on verified_at; t_min is
    # the earliest any check could still count), then each check's own threshold.
    fresh = dict(session.execute(
        select(cte.c.week, func.count(func.distinct(Activity.id))).select_from(cte)
        .join(VerificationEvent, and_(VerificationEvent.verified_at < cte.c.ends,
                                      VerificationEvent.verified_at > cte.c.t_min))
        .join(Activity, and_(Activity.id == VerificationEvent.activity_id, existed))
        .where(VerificationEvent.verified_at > threshold)
        .group_by(cte.c.week)).tuples().all())
    return {i: (int(listings.get(i, 0)), int(fresh.get(i, 0))) for i in range(len(weeks))}


def fresh_trend(session: Session, weeks: Sequence[Week], now: datetime, rules: Rules) -> Trend:
    """The share of live listings fresh at the end of each week (module notes: how)."""
    past = [w for w in weeks if not w.current]
    kept = _kept_weeks(session, past) if past else {}
    counted = {i: kept[w.start] for i, w in enumerate(weeks) if w.start in kept}
    missing = [i for i, w in enumerate(weeks) if not w.current and i not in counted]
    for j, value in _fresh_from_history(session, [weeks[i] for i in missing], rules).items():
        counted[missing[j]] = (*value, BASIS_HISTORY)
    for i, week in enumerate(weeks):
        if week.current:
            counted[i] = (*fresh_now(session, now), BASIS_LIVE)
    listings = tuple(counted[i][0] for i in range(len(weeks)))
    fresh = tuple(counted[i][1] for i in range(len(weeks)))
    share = tuple(round(100 * f / n, 1) if n else None for n, f in zip(listings, fresh,
                                                                        strict=True))
    series = (Series("share_fresh_percent", "Fresh (% of listings)", share),
              Series("fresh", "Fresh listings", fresh, plotted=False),
              Series("listings", "Listings", listings, plotted=False),
              Series("how_counted", "How it was counted",
                     tuple(counted[i][2] for i in range(len(weeks))), plotted=False))
    return Trend("fresh", TITLES["fresh"], tuple(weeks), series,
                 _fresh_summary(share, fresh, listings),
                 "No data yet: there are no listings to count.", percent=True,
                 notes=("Across every ward and category, whatever the filters above. Weeks "
                        "before the daily job first counted them are worked out from the "
                        "checks recorded.",))


def _fresh_summary(share: Sequence[float | None], fresh: Sequence[int],
                   listings: Sequence[int]) -> str | None:
    if not any(listings):
        return None
    now = share[-1]
    of = _count(listings[-1], "listing")
    text = (f"Fresh listings: {_pct(now)} this week ({fresh[-1]} of {of})" if now is not None
            else "Fresh listings: no listings this week")
    back = _compare_index(share)
    if now is not None and back is not None:
        then = share[back]
        assert then is not None
        shown_now, shown_then = round(now), round(then)  # as the words say them
        move = ("up from" if shown_now > shown_then else "down from"
                if shown_now < shown_then else "the same as")
        text += f", {move} {_pct(then)} {_weeks_ago(len(share) - 1 - back)}"
    return text + "."


def _pct(value: float | None) -> str:
    return "no listings" if value is None else f"{round(value)}%"


def _compare_index(values: Sequence[Any]) -> int | None:
    """The week to compare this week with: four weeks back, else the earliest with data."""
    last = len(values) - 1
    wanted = last - COMPARE_WEEKS_BACK
    if wanted >= 0 and values[wanted] is not None:
        return wanted
    earlier = [i for i in range(last) if values[i] is not None]
    return earlier[0] if earlier else None


def _weeks_ago(n: int) -> str:
    words = {1: "last week", 2: "two weeks ago", 3: "three weeks ago", 4: "four weeks ago"}
    return words.get(n, f"{n} weeks ago")


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


# -- checks by method ----------------------------------------------------------------------

def checks_trend(session: Session, weeks: Sequence[Week]) -> Trend:
    """Verification events recorded each week, one series per method that occurs."""
    cte = _weeks_cte(weeks)
    counts: dict[str, dict[int, int]] = defaultdict(dict)
    for week, method, n in session.execute(
            select(cte.c.week, VerificationEvent.method, func.count()).select_from(cte)
            .join(VerificationEvent, and_(VerificationEvent.verified_at >= cte.c.begins,
                                          VerificationEvent.verified_at < cte.c.ends))
            .group_by(cte.c.week, VerificationEvent.method)):
        counts[method][week] = n
    order = list(METHOD_WORDS)
    methods = sorted(counts, key=lambda m: (order.index(m) if m in order else len(order), m))
    series = tuple(Series(m, method_words(m), _per_week(weeks, counts[m])) for m in methods)
    totals = tuple(sum(s.values[i] for s in series) for i in range(len(weeks)))
    summary = None
    if any(totals):
        top = max(series, key=lambda s: sum(s.values))
        summary = (f"Checks recorded: {totals[-1]} this week, "
                   f"{_then(totals, COMPARE_WEEKS_BACK)}; {sum(totals)} in the "
                   f"{len(weeks)} weeks, most often {top.label[:1].lower() + top.label[1:]} "
                   f"({sum(top.values)}).")
    return Trend("checks", TITLES["checks"], tuple(weeks),
                 (*series, Series("total", "All checks", totals, plotted=False)), summary,
                 f"No data yet: no checks recorded in the last {len(weeks)} weeks.")


def _then(values: Sequence[int], back: int) -> str:
    if len(values) <= back:
        return f"{values[0]} {_weeks_ago(len(values) - 1)}"
    return f"{values[-1 - back]} {_weeks_ago(back)}"


# -- suggestions ---------------------------------------------------------------------------

def suggestions_trend(session: Session, weeks: Sequence[Week]) -> Trend:
    """Suggestions received (by when they came in) and accepted (by when a coordinator
    approved or merged them) each week."""
    cte = _weeks_cte(weeks)
    received = dict(session.execute(
        select(cte.c.week, func.count()).select_from(cte)
        .join(Suggestion, and_(Suggestion.created_at >= cte.c.begins,
                               Suggestion.created_at < cte.c.ends))
        .group_by(cte.c.week)).tuples().all())
    accepted = dict(session.execute(
        select(cte.c.week, func.count()).select_from(cte)
        .join(Suggestion, and_(Suggestion.decided_at >= cte.c.begins,
                               Suggestion.decided_at < cte.c.ends,
                               Suggestion.status.in_(ACCEPTED_STATUSES)))
        .group_by(cte.c.week)).tuples().all())
    got, took = _per_week(weeks, received), _per_week(weeks, accepted)
    summary = None
    if any(got) or any(took):
        summary = (f"Community suggestions: {got[-1]} received and {took[-1]} accepted this "
                   f"week; {sum(got)} received and {sum(took)} accepted in the {len(weeks)} "
                   "weeks.")
    return Trend("suggestions", TITLES["suggestions"], tuple(weeks),
                 (Series("received", "Received", got), Series("accepted", "Accepted", took)),
                 summary,
                 f"No data yet: no community suggestions in the last {len(weeks)} weeks.",
                 notes=("Accepted: approved as a new listing or merged into one.",))


# -- feed runs -----------------------------------------------------------------------------

def feeds_trend(session: Session, weeks: Sequence[Week]) -> Trend:
    """Feed runs started each week, and how many of them failed."""
    cte = _weeks_cte(weeks)
    runs: dict[int, int] = {}
    failed: dict[int, int] = {}
    for week, n, bad in session.execute(
            select(cte.c.week, func.count(),
                   func.coalesce(func.sum(case((ScrapeRun.status == "failed", 1), else_=0)), 0))
            .select_from(cte)
            .join(ScrapeRun, and_(ScrapeRun.started_at >= cte.c.begins,
                                  ScrapeRun.started_at < cte.c.ends))
            .group_by(cte.c.week)):
        runs[week], failed[week] = n, bad
    ran, bad_runs = _per_week(weeks, runs), _per_week(weeks, failed)
    summary = None
    if any(ran):
        summary = (f"Feed runs failed: {bad_runs[-1]} of {ran[-1]} this week; "
                   f"{sum(bad_runs)} of {sum(ran)} in the {len(weeks)} weeks.")
    return Trend("feeds", TITLES["feeds"], tuple(weeks),
                 (Series("failed", "Failed", bad_runs), Series("runs", "Runs", ran,
                                                               plotted=False)),
                 summary, f"No data yet: no feed has run in the last {len(weeks)} weeks.")


def all_trends(session: Session, *, now: datetime, weeks: int, rules: Rules
               ) -> tuple[Trend, ...]:
    """The four trends over the `weeks` weeks up to `now`, in page order."""
    span = weeks_to(now, weeks)
    return (fresh_trend(session, span, now, rules), checks_trend(session, span),
            suggestions_trend(session, span), feeds_trend(session, span))


def trend(session: Session, key: str, *, now: datetime, weeks: int, rules: Rules) -> Trend:
    """One trend by key (for its CSV)."""
    span = weeks_to(now, weeks)
    if key == "fresh":
        return fresh_trend(session, span, now, rules)
    builders = {"checks": checks_trend, "suggestions": suggestions_trend, "feeds": feeds_trend}
    return builders[key](session, span)


def csv_rows(trend: Trend) -> list[list[Any]]:
    """The header and one row per week: what the chart and its table show."""
    rows: list[list[Any]] = [["week_beginning", *(s.key for s in trend.series)]]
    for i, week in enumerate(trend.weeks):
        rows.append([week.start.isoformat(),
                     *("" if s.values[i] is None else s.values[i] for s in trend.series)])
    return rows
