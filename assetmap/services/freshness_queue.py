"""What is going stale: the cached due dates, the summary, the work queue and its actions.

The rules live in `assetmap.freshness`. Here each listing's evidence is read in bulk and its
due date cached on the row (`activities.freshness_due_at`, with the sticky states "unknown" and
"possibly-closed" in `freshness_state`), so that the summary and the queue over 100,000
listings are a few set-based queries, the queue ordered by an index. The time-dependent states
(fresh, due soon, stale, very stale) are worked out in SQL from the cached due date and the
time now (`state_column`), so a page, the API and the CLI asked at the same moment agree,
between job runs too.

The cache is refreshed for one listing whenever a check is recorded or a field the rules read
changes (`refresh`, called by the verification and listing services), and for every listing
by the daily job (`recompute`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import NullType

from .. import vocab
from ..errors import NotFound, ValidationError
from ..freshness import (
    DUE_SOON_WINDOW,
    MISSES_BEFORE_POSSIBLY_CLOSED,
    NEEDS_CHECK,
    STATE_LABELS,
    STATES,
    STICKY_STATES,
    VERY_STALE_AFTER,
    Check,
    Due,
    Rules,
    Signal,
    ago,
    evaluate,
    one_off_end,
    overdue_words,
    state_at,
    words,
)
from ..models import (
    Activity,
    Area,
    ChangeRecord,
    ReviewItem,
    ScheduleEntry,
    Source,
    SourceLink,
    User,
    Venue,
    VerificationEvent,
    utcnow,
)
from ..params import int_param
from ..schedule import ScheduleRule
from ..spatial import lat_of, lon_of

#: Listings that need keeping fresh; ended and pending (not yet approved) ones do not.
LIVE_STATUSES: tuple[str, ...] = ("active", "paused")
#: The queue shows these unless asked for other states.
QUEUE_STATES: tuple[str, ...] = ("due-soon", "stale", "very-stale", "possibly-closed",
                                 "unknown")
CLOSURE_REVIEW_KINDS: tuple[str, ...] = ("report-closed", "organiser-stopped")
#: Fields whose change can move a listing's due date (see `refresh`).
RULE_FIELDS: frozenset[str] = frozenset({"category", "schedules", "possibly_closed"})
CHUNK = 5000
MAX_PER_PAGE = 500


def current_rules() -> Rules:
    """The rules of the app in use, or those the environment configures (CLI, jobs)."""
    if has_app_context():
        return Rules.from_config(current_app.config)
    from ..config import Config

    return Rules.from_config(Config().as_dict())


def clock(config: Mapping) -> datetime:
    """The time now; FRESHNESS_NOW (tests, demos) evaluates everything as of that instant."""
    return config.get("FRESHNESS_NOW") or utcnow()


# -- evidence, in bulk ---------------------------------------------------------------------

def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


Scope = Callable[[ColumnElement[int]], ColumnElement[bool]]


def evidence(session: Session, ids: Sequence[int], rules: Rules) -> dict[int, Due]:
    """Each listing's due date and sticky state from its checks, feeds and reports."""
    out: dict[int, Due] = {}
    for chunk in _chunks(list(ids)):
        out.update(_evidence(session, lambda column, chunk=chunk: column.in_(chunk), rules))
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
                   VerificationEvent.method != "source-seen")
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
            record = last.get(activity_id)
            if record is not None and record.new_value is True:
                out[activity_id].append(Signal(record.changed_at, record.note
                                               or f"marked possibly closed by "
                                                  f"{record.actor_label or record.actor_type}"))
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


# -- the cache -----------------------------------------------------------------------------

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
    for chunk in _chunks(ids):

        def scope(column: ColumnElement[int], lo: int = chunk[0], hi: int = chunk[-1]
                  ) -> ColumnElement[bool]:
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


# -- state in SQL --------------------------------------------------------------------------

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


class venue_in_area(FunctionElement):  # noqa: N801 - reads like the SQL it stands for
    """The venue's point lies in the area's polygon, through each backend's spatial index.

    Untyped on purpose: a Boolean would be rendered `(...) = 1` on SQLite, which hides the
    `ROWID IN (spatial index)` lookup from its planner and turns the join into a full scan.
    """

    inherit_cache = True
    type = NullType()


@compiles(venue_in_area, "postgresql")
def _in_area_pg(element, compiler, **kw) -> str:
    point, area = (compiler.process(c, **kw) for c in element.clauses)
    return f"ST_Contains({area}, {point})"


@compiles(venue_in_area, "sqlite")
def _in_area_sqlite(element, compiler, **kw) -> str:
    point, area = (compiler.process(c, **kw) for c in element.clauses)
    return (f"(venues.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'venues' "
            f"AND f_geometry_column = 'geom' AND search_frame = {area}) "
            f"AND ST_Contains({area}, {point}) = 1)")


# -- filters -------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """Which listings: by ward, category, feed and state (validated; 400s name the field)."""

    area_id: int | None = None
    area_name: str | None = None
    category: str | None = None
    source_id: int | None = None
    states: tuple[str, ...] = QUEUE_STATES

    @classmethod
    def from_args(cls, session: Session, args: Mapping[str, str]) -> QueueFilter:
        area_id = area_name = None
        raw_area = (args.get("area") or "").strip()
        if raw_area:
            area = find_area(session, raw_area)
            area_id, area_name = area.id, area.name
        category = (args.get("category") or "").strip() or None
        if category is not None and category not in vocab.CATEGORY_IDS:
            raise ValidationError("category", f"unknown category {category!r}",
                                  allowed=sorted(vocab.CATEGORY_IDS))
        source_id = None
        raw_source = (args.get("source") or "").strip()
        if raw_source:
            try:
                source_id = int(raw_source)
            except ValueError:
                raise ValidationError("source", f"{raw_source!r} is not a source id") from None
            if session.get(Source, source_id) is None:
                raise ValidationError("source", f"there is no source with id {source_id}")
        raw_state = (args.get("state") or "").strip()
        if raw_state in ("", "attention"):
            states = QUEUE_STATES
        elif raw_state == "all":
            states = STATES
        else:
            states = tuple(s.strip() for s in raw_state.split(",") if s.strip())
            for s in states:
                if s not in STATES:
                    raise ValidationError("state", f"unknown state {s!r}",
                                          allowed=[*STATES, "attention", "all"])
        return cls(area_id, area_name, category, source_id, states)

    def to_args(self) -> dict[str, str]:
        """Back to query parameters (for links that keep the filters)."""
        args = {}
        if self.area_id is not None:
            args["area"] = str(self.area_id)
        if self.category:
            args["category"] = self.category
        if self.source_id is not None:
            args["source"] = str(self.source_id)
        if self.states != QUEUE_STATES:
            args["state"] = "all" if self.states == STATES else ",".join(self.states)
        return args


def find_area(session: Session, raw: str) -> Area:
    """A ward or borough by id, code or name (any case)."""
    query = select(Area)
    area = None
    if raw.isdigit():
        area = session.get(Area, int(raw))
    if area is None:
        area = session.scalar(query.where(or_(Area.code == raw,
                                              func.lower(Area.name) == raw.lower())))
    if area is None:
        names = list(session.scalars(select(Area.name).where(Area.kind == "ward")
                                     .order_by(Area.name)))
        raise ValidationError("area", f"no ward or borough called {raw!r}", allowed=names)
    return area


def _where(stmt: Select, flt: QueueFilter, now: datetime, *, states: bool = True,
           area: bool = True) -> Select:
    stmt = stmt.where(Activity.status.in_(LIVE_STATUSES))
    if flt.category:
        stmt = stmt.where(Activity.category == flt.category)
    if flt.source_id is not None:
        stmt = stmt.where(Activity.id.in_(select(SourceLink.activity_id).where(
            SourceLink.source_id == flt.source_id)))
    if area and flt.area_id is not None:
        stmt = stmt.where(Activity.venue_id.in_(
            select(Venue.id).join(Area, venue_in_area(Venue.geom, Area.geom))
            .where(Area.id == flt.area_id)))
    if states and set(flt.states) != set(STATES):
        stmt = stmt.where(or_(*(state_condition(s, now) for s in flt.states)))
    return stmt


# -- summary -------------------------------------------------------------------------------

def _counts_row(counts: Mapping[str, int]) -> dict[str, Any]:
    full = {s: int(counts.get(s, 0)) for s in STATES}
    total = sum(full.values())
    needs = sum(full[s] for s in NEEDS_CHECK)
    return {"total": total, "counts": full, "needs_check": needs,
            "share_needs_check": round(needs / total, 4) if total else 0.0}


def summary(session: Session, flt: QueueFilter, *, now: datetime) -> dict[str, Any]:
    """Counts by state, by category and by ward (listings in the filter, every state).

    Two statements: one scan grouped by category and state (the overall counts are its
    sums), and one join of the wards to their venues (through the spatial index) and on to
    the listings there, grouped by ward and state.
    """
    if session.get_bind().dialect.name == "postgresql":
        # The spatial join's row estimate is far too high, which makes PostgreSQL JIT-compile
        # the query: ~100 ms spent for a query that runs in less.
        session.execute(text("SET LOCAL jit = off"))
    state = state_column(now).label("state")
    by_category: dict[str, dict[str, int]] = defaultdict(dict)
    by_state: dict[str, int] = defaultdict(int)
    # Grouped by state first: SQLite then scans the table instead of the category index.
    for category, st, n in session.execute(_where(
            select(Activity.category, state, func.count()).select_from(Activity), flt, now,
            states=False).group_by(state, Activity.category)):
        by_category[category][st] = n
        by_state[st] += n
    by_area: dict[int, dict[str, int]] = defaultdict(dict)
    ward_counts = _where(
        select(Area.id, state, func.count()).select_from(Area)
        .join(Venue, venue_in_area(Venue.geom, Area.geom))
        .join(Activity, Activity.venue_id == Venue.id).where(Area.kind == "ward")
        .where(Area.retired.is_(False)),
        flt, now, states=False, area=False)
    if flt.area_id is not None:
        ward_counts = ward_counts.where(Area.id == flt.area_id)
    for area_id, st, n in session.execute(ward_counts.group_by(Area.id, state)):
        by_area[area_id][st] = n
    areas = session.execute(select(Area.id, Area.code, Area.name).where(
        Area.kind == "ward").where(Area.retired.is_(False)).order_by(Area.name)).all()
    if flt.area_id is not None:
        areas = [a for a in areas if a[0] == flt.area_id]
    overall = _counts_row(by_state)
    area_rows = [{"area_id": a_id, "code": code, "name": name} | _counts_row(by_area[a_id])
                 for a_id, code, name in areas]
    in_wards = {s: sum(r["counts"][s] for r in area_rows) for s in STATES}
    outside = {s: overall["counts"][s] - in_wards[s] for s in STATES}
    return {
        "as_of": now.isoformat(),
        "filter": flt.to_args(),
        **overall,
        "by_category": [{"category": c, "label": vocab.CATEGORY_LABELS.get(c, c)}
                        | _counts_row(by_category[c])
                        for c in sorted(by_category, key=lambda c: vocab.CATEGORY_LABELS.get(
                            c, c))],
        "by_area": area_rows,
        "outside_wards": _counts_row(outside),
    }


# -- the queue -----------------------------------------------------------------------------

@dataclass
class QueuePage:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict[str, Any]:
        return {"page": self.page, "per_page": self.per_page, "total": self.total,
                "pages": self.pages, "items": self.items}


def page_args(args: Mapping[str, str], *, default_per_page: int = 50) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (1-500) from query parameters, checked."""
    return (int_param(args.get("page"), "page", default=1, low=1, high=1_000_000),
            int_param(args.get("per_page"), "per_page", default=default_per_page, low=1,
                      high=MAX_PER_PAGE))


def queue(session: Session, flt: QueueFilter, *, now: datetime, page: int = 1,
          per_page: int = 50, rules: Rules | None = None) -> QueuePage:
    """Listings needing attention, most overdue first (never-checked ones by listing date)."""
    total = session.scalar(_where(select(func.count()).select_from(Activity), flt, now))
    items = queue_items(session, flt, now=now, limit=per_page, offset=(page - 1) * per_page,
                        rules=rules)
    return QueuePage(items, int(total or 0), page, per_page)


def queue_items(session: Session, flt: QueueFilter, *, now: datetime, limit: int | None = None,
                offset: int = 0, rules: Rules | None = None,
                where: ColumnElement[bool] | None = None) -> list[dict[str, Any]]:
    """Queue rows as plain dicts: the one shape for the page, the API, the CLI and exports
    (`where`: one more condition, e.g. the digest's "due in the past week")."""
    state = state_column(now).label("state")
    stmt = _where(select(
        Activity.id, Activity.name, Activity.category, Activity.status, state,
        Activity.freshness_due_at, Activity.last_verified_at, Activity.last_verified_method,
        Activity.contact_email, Activity.contact_phone, Activity.assigned_user_id,
        Activity.venue_id, Venue.name, Venue.postcode, lat_of(Venue.geom), lon_of(Venue.geom))
        .outerjoin(Venue, Venue.id == Activity.venue_id), flt, now).order_by(
        Activity.freshness_due_at, Activity.id).offset(offset)
    if where is not None:
        stmt = stmt.where(where)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    ids = [r[0] for r in rows]
    wards = venue_wards(session, {r[11] for r in rows if r[11] is not None})
    users = dict(session.execute(select(User.id, User.email).where(
        User.id.in_({r[10] for r in rows if r[10] is not None}))).all())
    sources: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks(ids):
        for activity_id, name in session.execute(
                select(SourceLink.activity_id, Source.name)
                .join(Source, Source.id == SourceLink.source_id)
                .where(SourceLink.activity_id.in_(chunk)).order_by(Source.name)):
            sources[activity_id].append(name)
    closed = [r[0] for r in rows if r[4] == "possibly-closed"]
    reasons = {i: d.reason for i, d in evidence(session, closed, rules or current_rules())
               .items()} if closed else {}
    items = []
    for (activity_id, name, category, status, st, due_at, verified_at, method, email, phone,
         assigned, venue_id, venue_name, postcode, lat, lon) in rows:
        items.append({
            "id": activity_id, "name": name, "category": category,
            "category_label": vocab.CATEGORY_LABELS.get(category, category),
            "status": status, "state": st, "state_label": STATE_LABELS[st],
            "due_at": due_at.isoformat() if due_at is not None and st != "unknown" else None,
            "overdue": "never checked" if due_at is None else (
                f"listed {ago(due_at, now)}" if st == "unknown" else overdue_words(due_at, now)),
            "last_verified_at": verified_at.isoformat() if verified_at else None,
            "last_verified_method": method,
            "checked": words(st, verified_at, method, now),
            "reason": reasons.get(activity_id),
            "venue": venue_name, "postcode": postcode,
            "lat": round(lat, 7) if lat is not None else None,
            "lon": round(lon, 7) if lon is not None else None,
            "area": wards.get(venue_id) if venue_id is not None else None,
            "contact_email": email, "contact_phone": phone,
            "assigned_user_id": assigned, "assigned_to": users.get(assigned),
            "sources": sources.get(activity_id, []),
            "url": f"/activities/{activity_id}",
        })
    return items


def venue_wards(session: Session, venue_ids: Iterable[int]) -> dict[int, str]:
    """Ward name of each venue (venues outside every ward are left out)."""
    venue_ids = list(venue_ids)
    out: dict[int, str] = {}
    for chunk in _chunks(venue_ids):
        out.update(session.execute(
            select(Venue.id, Area.name).join(Area, and_(Area.kind == "ward",
                                                        Area.retired.is_(False),
                                                        venue_in_area(Venue.geom, Area.geom)))
            .where(Venue.id.in_(chunk))).all())
    return out


def ward_map(session: Session, flt: QueueFilter, *, now: datetime) -> dict[str, Any]:
    """Wards as GeoJSON with their counts and share needing a check (for the shaded map)."""
    import json

    data = summary(session, flt, now=now)
    shapes = dict(session.execute(select(Area.id, Area.geom.ST_AsGeoJSON()).where(
        Area.kind == "ward")).all())
    features = [{"type": "Feature", "id": row["area_id"], "geometry": json.loads(
        shapes[row["area_id"]]), "properties": {
        "name": row["name"], "code": row["code"], "total": row["total"],
        "needs_check": row["needs_check"], "share": row["share_needs_check"],
        "counts": row["counts"],
        "label": (f"{row['needs_check']} of {row['total']} listings stale or never checked "
                  f"({round(row['share_needs_check'] * 100)}%)") if row["total"]
        else "no listings"}} for row in data["by_area"]]
    return {"type": "FeatureCollection", "features": features}


def live_listings(session: Session, ids: Iterable[int]) -> list[Activity]:
    """Listings by id for an action; NotFound names the first missing one."""
    ids = sorted({int(i) for i in ids})
    if not ids:
        raise ValidationError("ids", "choose at least one listing")
    found = {a.id: a for a in session.scalars(select(Activity).where(Activity.id.in_(ids)))}
    for activity_id in ids:
        if activity_id not in found:
            raise NotFound(f"there is no listing with id {activity_id}")
    return [found[i] for i in ids]


# -- actions on one or many listings --------------------------------------------------------

ACTIONS: dict[str, str] = {
    "phoned": "Checked by phone",
    "remind": "Send the organiser a reminder",
    "close": "Mark closed",
    "assign": "Assign to a connector",
}


def assignable_users(session: Session) -> list[User]:
    """Who listings can be assigned to: active connectors (and coordinators)."""
    return list(session.scalars(select(User).where(
        User.active.is_(True), User.role.in_(("connector", "coordinator")))
        .order_by(User.role, User.email)))


def apply_action(session: Session, ids: Iterable[int], action: str, *, user: User,
                 config: Mapping, now: datetime, note: str | None = None,
                 assignee: str | None = None) -> str:
    """Carry out a coordinator's action on the chosen listings; what happened, in words."""
    from ..services.listings import Actor, apply_changes
    from ..services.verification import record_verification
    from .freshness_job import remind

    if action not in ACTIONS:
        raise ValidationError("action", f"unknown action {action!r}", allowed=list(ACTIONS))
    note = " ".join((note or "").split())[:2000] or None
    if action == "phoned" and not note:
        raise ValidationError("note", "say what you learned on the phone")
    assignee_id = _assignee(session, assignee) if action == "assign" else None
    listings = live_listings(session, ids)
    actor = Actor("user", user.email, user_id=user.id)
    n = len(listings)
    plural = "listing" if n == 1 else "listings"
    if action == "phoned":
        for activity in listings:
            record_verification(session, activity, "phoned", actor, at=now, note=note)
            if activity.possibly_closed:  # the call answered the closure report
                apply_changes(session, activity, {"possibly_closed": False}, actor,
                              note=f"still running, checked by phone: {note}", at=now)
        return f"{n} {plural} recorded as checked by phone."
    if action == "close":
        for activity in listings:
            apply_changes(session, activity, {"status": "ended", "possibly_closed": False},
                          actor, note=note or "marked closed from the freshness queue", at=now)
        return f"{n} {plural} marked closed (ended); they stay in the history."
    if action == "assign":
        table = Activity.__table__
        session.execute(update(table).where(table.c.id.in_([a.id for a in listings]))
                        .values(assigned_user_id=assignee_id, updated_at=table.c.updated_at))
        session.expire_all()
        if assignee_id is None:
            return f"{n} {plural} no longer assigned to anyone."
        who = session.get(User, assignee_id)
        return f"{n} {plural} assigned to {who.email if who else assignee_id}."
    sent = [a for a in listings if (a.contact_email or "").strip()]
    for activity in sent:
        remind(session, activity, config)
    words = (f"Reminder sent to the organisers of {len(sent)} "
             f"{'listing' if len(sent) == 1 else 'listings'}.")
    if len(sent) < n:
        missing = ", ".join(a.name for a in listings if a not in sent)
        words += f" No contact e-mail for: {missing} (phone them instead)."
    return words


def _assignee(session: Session, raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    allowed = {str(u.id): u for u in assignable_users(session)}
    if raw not in allowed:
        raise ValidationError("assignee", "choose an active connector or coordinator",
                              allowed=[u.email for u in allowed.values()])
    return allowed[raw].id
