"""TODO docstring."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import QueryableAttribute, Session

from assetmap import vocab
from assetmap.config import Config
from assetmap.freshness.rules import (
    DUE_SOON_WINDOW,
    MISSES_BEFORE_POSSIBLY_CLOSED,
    STATES,
    STICKY_STATES,
    VERY_STALE_AFTER,
    Check,
    Due,
    Rules,
    Signal,
    evaluate,
    one_off_end,
    state_at,
)
from assetmap.models import (
    Activity,
    ChangeRecord,
    ReviewItem,
    ScheduleEntry,
    Source,
    SourceLink,
    VerificationEvent,
    utcnow,
)
from assetmap.schedule import ScheduleRule
from assetmap.values import chunks

CLOSURE_REVIEW_KINDS: tuple[str, ...] = ("report-closed", "organiser-stopped")


#: Fields whose change can move a listing's due date (see `refresh`).
RULE_FIELDS: frozenset[str] = frozenset({"category", "schedules", "possibly_closed"})


def current_rules() -> Rules:
    """The rules of the app in use, or those the environment configures (CLI, jobs)."""
    if has_app_context():
        return Rules.from_config(current_app.config)
    return Rules.from_config(Config().as_dict())


def clock(config: Mapping) -> datetime:
    """The time now; FRESHNESS_NOW (tests, demos) evaluates everything as of that instant."""
    return config.get("FRESHNESS_NOW") or utcnow()


Scope = Callable[[ColumnElement[Any] | QueryableAttribute[Any]], ColumnElement[bool]]


def evidence(session: Session, ids: Sequence[int], rules: Rules) -> dict[int, Due]:
    """Each listing's due date and sticky state from its checks, feeds and reports."""
    out: dict[int, Due] = {}
    for chunk in chunks(list(ids)):

        def scope(column: ColumnElement[Any] | QueryableAttribute[Any],
                  chunk: Sequence[int] = chunk) -> ColumnElement[bool]:
            return column.in_(chunk)

        out.update(_evidence(session, scope, rules))
    return out


def _evidence(session: Session, scope: Scope, rules: Rules) -> dict[int, Due]:
    """`evidence` for the listings whose id satisfies `scope` (an IN list or an id range:
    thousands of bound parameters are slow to send, so the job works in ranges)."""
    rows = session.execute(select(
        Activity.id, Activity.category, Activity.created_at, Activity.last_seen_by_source_at,
        Activity.possibly_closed).where(scope(Activity.id))).all()
    if not rows:
        return {}
    checks: dict[int, list[Check]] = defaultdict(list)
    for activity_id, method, at in session.execute(
            select(VerificationEvent.activity_id, VerificationEvent.method,
                   func.max(VerificationEvent.verified_at))
            .where(scope(VerificationEvent.activity_id),
                   VerificationEvent.method.not_in(vocab.SIGHTING_METHODS))
            .group_by(VerificationEvent.activity_id, VerificationEvent.method)):
        checks[activity_id].append(Check(at, method))
    recurring = set(session.scalars(select(ScheduleEntry.activity_id).where(
        scope(ScheduleEntry.activity_id), ScheduleEntry.kind != "once")))
    once: dict[int, list[ScheduleRule]] = defaultdict(list)
    for activity_id, rule in session.execute(select(
            ScheduleEntry.activity_id, ScheduleEntry.rule).where(
            scope(ScheduleEntry.activity_id), ScheduleEntry.kind == "once")):
        if activity_id not in recurring:
            once[activity_id].append(ScheduleRule.from_dict(rule))
    signals = _signals(session, scope, [r[0] for r in rows if r[4]])
    out = {}
    for activity_id, category, created_at, seen_at, _closed in rows:
        out[activity_id] = evaluate(
            checks.get(activity_id, ()), interval=rules.interval_for(category),
            created_at=created_at, rules=rules, last_seen_by_source_at=seen_at,
            one_off_until=one_off_end(once[activity_id]) if activity_id in once else None,
            signals=signals.get(activity_id, ()))
    return out


def _signals(session: Session, scope: Scope, flagged: Sequence[int]
             ) -> dict[int, list[Signal]]:
    """Why a listing may have stopped: its flag, a feed dropping it, an open report."""
    out: dict[int, list[Signal]] = defaultdict(list)
    if flagged:
        last: dict[int, ChangeRecord] = {}
        for record in session.scalars(select(ChangeRecord).where(
                ChangeRecord.activity_id.in_(flagged), ChangeRecord.field == "possibly_closed")
                .order_by(ChangeRecord.changed_at, ChangeRecord.id)):
            last[record.activity_id] = record
        for activity_id in flagged:
            flag = last.get(activity_id)
            if flag is not None and flag.new_value is True:
                out[activity_id].append(Signal(flag.changed_at, flag.note
                                               or f"marked possibly closed by "
                                                  f"{flag.actor_label or flag.actor_type}"))
            else:  # set without history: nobody knows when, so no check can answer it
                out[activity_id].append(Signal(None, "marked possibly closed"))
    for activity_id, name, missed, withdrawn, seen in session.execute(
            select(SourceLink.activity_id, Source.name, SourceLink.missed_runs,
                   SourceLink.withdrawn, SourceLink.last_seen_at)
            .join(Source, Source.id == SourceLink.source_id)
            .where(scope(SourceLink.activity_id),
                   or_(SourceLink.withdrawn.is_(True),
                       SourceLink.missed_runs >= MISSES_BEFORE_POSSIBLY_CLOSED))):
        reason = (f"withdrawn by the feed {name}" if withdrawn
                  else f"missing from the feed {name} for {missed} runs")
        out[activity_id].append(Signal(seen, reason))
    for activity_id, kind, created_at, raised_by in session.execute(
            select(ReviewItem.activity_id, ReviewItem.kind, ReviewItem.created_at,
                   ReviewItem.raised_by)
            .where(scope(ReviewItem.activity_id), ReviewItem.status == "open",
                   ReviewItem.kind.in_(CLOSURE_REVIEW_KINDS))):
        who = f" by {raised_by}" if raised_by else ""
        out[activity_id].append(Signal(created_at, f"reported closed{who}"
                                       if kind == "report-closed"
                                       else f"the organiser says it has stopped{who}"))
    return out


def refresh(session: Session, activity: Activity, *, listed: bool = False,
            rules: Rules | None = None) -> None:
    """Re-cache one listing's due date, after a check or a change the rules read.

    `listed`: the listing was just created, so it has no evidence yet (no queries needed).
    """
    if listed:
        for column, value in new_listing_cache(activity.created_at or utcnow()).items():
            setattr(activity, column, value)
        return
    session.flush()
    due = evidence(session, [activity.id], rules or current_rules())[activity.id]
    now = clock(current_app.config) if has_app_context() else utcnow()
    activity.freshness_due_at = due.due_at
    activity.freshness_state = state_at(due.due_at, now, due.sticky)


def new_listing_cache(created_at: datetime) -> dict[str, Any]:
    """The cached freshness columns of a listing nobody has checked yet: "unknown", due now."""
    return {"freshness_due_at": created_at,
            "freshness_state": state_at(created_at, created_at, "unknown")}


@dataclass
class RecomputeReport:
    listings: int = 0
    changed: int = 0
    by_state: dict[str, int] = field(default_factory=dict)


def recompute(session: Session, *, now: datetime, rules: Rules) -> RecomputeReport:
    """Re-cache every listing's due date, writing only the rows that changed, without touching
    `updated_at` (a cache refresh is not an edit: Open Referral consumers asking for
    `modified_after` must not see every listing change nightly)."""
    table = Activity.__table__
    write = (update(table).where(table.c.id == bindparam("b_id"))
             .values(freshness_state=bindparam("b_state"),
                     freshness_due_at=bindparam("b_due", type_=table.c.freshness_due_at.type),
                     updated_at=table.c.updated_at))
    report = RecomputeReport(by_state=dict.fromkeys(STATES, 0))
    ids = list(session.scalars(select(Activity.id).order_by(Activity.id)))
    for chunk in chunks(ids):

        def scope(column: ColumnElement[Any] | QueryableAttribute[Any], lo: int = chunk[0],
                  hi: int = chunk[-1]) -> ColumnElement[bool]:
            return column.between(lo, hi)

        cached = {r[0]: (r[1], r[2]) for r in session.execute(
            select(Activity.id, Activity.freshness_state, Activity.freshness_due_at)
            .where(scope(Activity.id)))}
        changes = []
        for activity_id, due in _evidence(session, scope, rules).items():
            state = state_at(due.due_at, now, due.sticky)
            report.listings += 1
            report.by_state[state] += 1
            if cached.get(activity_id) != (state, due.due_at):
                changes.append({"b_id": activity_id, "b_state": state, "b_due": due.due_at})
        if changes:
            session.execute(write, changes)
            report.changed += len(changes)
    session.expire_all()
    return report


def state_column(now: datetime) -> ColumnElement[str]:
    """The state at `now` from the cached columns; the same rules as `freshness.state_at`."""
    due = Activity.freshness_due_at
    return case(
        (Activity.freshness_state.in_(STICKY_STATES), Activity.freshness_state),
        (due.is_(None), literal("unknown")),
        (due <= now - VERY_STALE_AFTER, literal("very-stale")),
        (due <= now, literal("stale")),
        (due <= now + DUE_SOON_WINDOW, literal("due-soon")),
        else_=literal("fresh"))


def state_condition(state: str, now: datetime) -> ColumnElement[bool]:
    """WHERE for one state, as ranges on the indexed due date where it can be."""
    if state in STICKY_STATES:
        sticky = Activity.freshness_state == state
        return or_(sticky, Activity.freshness_due_at.is_(None)) if state == "unknown" else sticky
    due = Activity.freshness_due_at
    dated = and_(due.is_not(None), or_(Activity.freshness_state.is_(None),
                                       Activity.freshness_state.not_in(STICKY_STATES)))
    ranges = {
        "very-stale": due <= now - VERY_STALE_AFTER,
        "stale": and_(due > now - VERY_STALE_AFTER, due <= now),
        "due-soon": and_(due > now, due <= now + DUE_SOON_WINDOW),
        "fresh": due > now + DUE_SOON_WINDOW,
    }
    return and_(dated, ranges[state])
