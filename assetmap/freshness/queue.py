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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import NullType

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.freshness.due import current_rules, evidence, state_column, state_condition
from assetmap.freshness.rules import NEEDS_CHECK, STATE_LABELS, STATES, Rules, overdue_words, words
from assetmap.models import (
    Activity,
    Area,
    Source,
    SourceLink,
    User,
    Venue,
)
from assetmap.params import as_id
from assetmap.spatial import indexed_rows, lat_of, lon_of
from assetmap.values import ago, chunks

#: Listings that need keeping fresh; ended and pending (not yet approved) ones do not.
LIVE_STATUSES: tuple[str, ...] = ("active", "paused")
#: The queue shows these unless asked for other states.
QUEUE_STATES: tuple[str, ...] = ("due-soon", "stale", "very-stale", "possibly-closed",
                                 "unknown")
MAX_PER_PAGE = 500


# -- evidence, in bulk ---------------------------------------------------------------------


# -- the cache -----------------------------------------------------------------------------


# -- state in SQL --------------------------------------------------------------------------


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
    return f"({indexed_rows('venues', area)} AND ST_Contains({area}, {point}) = 1)"


# -- filters -------------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueFilter:
    """Which listings: by ward, category, feed, state and who a check is assigned to
    (validated; 400s name the field)."""

    area_id: int | None = None
    area_name: str | None = None
    category: str | None = None
    source_id: int | None = None
    states: tuple[str, ...] = QUEUE_STATES
    #: "" anyone or nobody, "any" assigned to someone, "nobody", or a person's id (as text).
    assigned: str = ""
    assigned_name: str | None = None

    @classmethod
    def checked(cls, session: Session, *, area: str = "", category: str = "",
                source_id: int | None = None, state: str = "",
                assigned: str = "") -> QueueFilter:
        """A filter from typed values (the web form and the CLI parse text into these):
        `area` a ward or borough's id, code or name; `state` "attention" (the default),
        "all" or states separated by commas; `assigned` "any", "nobody" or a person's id or
        e-mail. ValidationError names the field."""
        assigned, assigned_name = _assigned(session, assigned.strip())
        area_id = area_name = None
        if area.strip():
            found = find_area(session, area.strip())
            area_id, area_name = found.id, found.name
        category = category.strip()
        if category and category not in vocab.CATEGORY_IDS:
            raise ValidationError("category", f"unknown category {category!r}",
                                  allowed=sorted(vocab.CATEGORY_IDS))
        if source_id is not None and session.get(Source, source_id) is None:
            raise ValidationError("source", f"there is no source with id {source_id}")
        return cls(area_id, area_name, category or None, source_id, _states(state.strip()),
                   assigned, assigned_name)

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
        if self.assigned:
            args["assigned"] = self.assigned
        return args


#: The `assigned` choices that are not a person.
ASSIGNED_CHOICES: dict[str, str] = {"any": "Assigned to someone", "nobody": "Not assigned"}


def _assigned(session: Session, raw: str) -> tuple[str, str | None]:
    """The `assigned` filter's value and the person's name or e-mail (for the page's words)."""
    if raw in ("", *ASSIGNED_CHOICES):
        return raw, None
    user = session.get(User, as_id(raw)) if as_id(raw) is not None else session.scalar(
        select(User).where(func.lower(User.email) == raw.lower()))
    if user is None:
        raise ValidationError("assigned", f"nobody with the id or e-mail {raw!r}",
                              allowed=[*ASSIGNED_CHOICES, "a person's id or e-mail"])
    return str(user.id), user.name or user.email


def _states(raw: str) -> tuple[str, ...]:
    if raw in ("", "attention"):
        return QUEUE_STATES
    if raw == "all":
        return STATES
    states = tuple(s.strip() for s in raw.split(",") if s.strip())
    for s in states:
        if s not in STATES:
            raise ValidationError("state", f"unknown state {s!r}",
                                  allowed=[*STATES, "attention", "all"])
    return states


def find_area(session: Session, raw: str) -> Area:
    """A ward or borough by id, code or name (any case)."""
    query = select(Area)
    area = None
    if as_id(raw) is not None:
        area = session.get(Area, as_id(raw))
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
    if flt.assigned == "any":
        stmt = stmt.where(Activity.assigned_user_id.is_not(None))
    elif flt.assigned == "nobody":
        stmt = stmt.where(Activity.assigned_user_id.is_(None))
    elif flt.assigned:
        stmt = stmt.where(Activity.assigned_user_id == int(flt.assigned))
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


def queue(session: Session, flt: QueueFilter, *, now: datetime, page: int = 1,
          per_page: int = 50, rules: Rules | None = None) -> QueuePage:
    """Listings needing attention, most overdue first (never-checked ones by listing date)."""
    total = count(session, flt, now=now)
    items = queue_items(session, flt, now=now, limit=per_page, offset=(page - 1) * per_page,
                        rules=rules)
    return QueuePage(items, total, page, per_page)


def count(session: Session, flt: QueueFilter, *, now: datetime) -> int:
    """How many listings the queue holds for this filter (the home's counts link to it)."""
    return int(session.scalar(_where(select(func.count()).select_from(Activity), flt,
                                     now)) or 0)


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
    users: dict[int, str] = {uid: email for uid, email in session.execute(
        select(User.id, User.email).where(
            User.id.in_({r[10] for r in rows if r[10] is not None})))}
    sources: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks(ids):
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
    for chunk in chunks(venue_ids):
        out.update((venue_id, name) for venue_id, name in session.execute(
            select(Venue.id, Area.name).join(Area, and_(Area.kind == "ward",
                                                        Area.retired.is_(False),
                                                        venue_in_area(Venue.geom, Area.geom)))
            .where(Venue.id.in_(chunk))))
    return out


def ward_map(session: Session, flt: QueueFilter, *, now: datetime) -> dict[str, Any]:
    """Wards as GeoJSON with their counts and share needing a check (for the shaded map)."""
    import json

    data = summary(session, flt, now=now)
    shapes: dict[int, str] = {area_id: shape for area_id, shape in session.execute(
        select(Area.id, Area.geom.ST_AsGeoJSON()).where(Area.kind == "ward"))}
    features = [{"type": "Feature", "id": row["area_id"], "geometry": json.loads(
        shapes[row["area_id"]]), "properties": {
        "name": row["name"], "code": row["code"], "total": row["total"],
        "needs_check": row["needs_check"], "share": row["share_needs_check"],
        "counts": row["counts"],
        "label": (f"{row['needs_check']} of {row['total']} listings stale or never checked "
                  f"({round(row['share_needs_check'] * 100)}%)") if row["total"]
        else "no listings"}} for row in data["by_area"]]
    return {"type": "FeatureCollection", "features": features}


# -- actions on one or many listings --------------------------------------------------------


