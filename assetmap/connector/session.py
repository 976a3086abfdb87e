"""A connector's session with a client: search, word of mouth, quick edits, the handout.

Nothing here stores anything about the client. A search origin is used to answer and then
dropped; the shortlist lives in the connector's browser. What connectors record about a
listing (a visit, a call, a judgement, a private note) is about the listing, never the client.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from assetmap import values
from assetmap.errors import NotFound, ScheduleError, ValidationError, ValidationErrors
from assetmap.freshness.due import refresh
from assetmap.freshness.rules import STATE_LABELS
from assetmap.handout.directions import Directions, directions, route_street_labels
from assetmap.handout.drawing import MapSpec, MapStop, Place
from assetmap.handout.model import Handout, HandoutItem, Walk, first_visit_words, session_words
from assetmap.listings.changes import Actor, apply_changes
from assetmap.listings.query import activity_with_point
from assetmap.listings.serialize import activity_to_dict
from assetmap.listings.venues import find_or_create_venue
from assetmap.listings.verification import record_verification
from assetmap.matching.rank import MatchQuery, origin_at
from assetmap.matching.search import MatchResult, find_matches
from assetmap.matching.suitability import count_answers
from assetmap.models import Activity, ChangeRecord, ReviewItem, User, VerificationEvent
from assetmap.params import id_param
from assetmap.places.geocode import optional_lat_lon, parse_lat_lon
from assetmap.schedule import LONDON, describe_all, parse_schedule
from assetmap.values import ago, chunks, cost_as_typed, cost_in_words, parse_cost
from assetmap.walking import PACES
from assetmap.walking.service import WalkingService

MINUTES = (5, 30)
MAX_RESULTS = 200  # the map shows them all; filters narrow the list
MAX_SHORTLIST = 10


def actor_for(user: User) -> Actor:
    return Actor("user", user.name or user.email, user_id=user.id)


# -- search ---------------------------------------------------------------------------------

@dataclass
class SearchForm:
    """The search as typed, kept as text so a bad value is shown back as it was."""

    postcode: str = ""
    lat: str = ""
    lon: str = ""
    minutes: str = "15"
    pace: str = "typical"
    needs: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    day: str = ""
    time: str = ""
    free: bool = False
    newcomers: bool = False
    language: str = ""

    @property
    def has_where(self) -> bool:
        return bool(self.postcode or self.lat or self.lon)

    def query(self, session: Session, data_dir: Path, minutes: int) -> MatchQuery:
        """The search as typed values; ValidationError names the field (lat or lon for a
        point chosen on the map)."""
        point = None if self.postcode else optional_lat_lon(self.lat, self.lon)
        origin = origin_at(session, data_dir, postcode=self.postcode, point=point)
        return MatchQuery.checked(origin, minutes=minutes, pace=self.pace, needs=self.needs,
                                  interests=self.interests, day=self.day,
                                  time_of_day=self.time, free_only=self.free,
                                  limit=MAX_RESULTS, newcomers=self.newcomers,
                                  language=self.language)


@dataclass
class SearchOutcome:
    form: SearchForm
    errors: dict[str, str] = field(default_factory=dict)
    result: MatchResult | None = None
    matches: list[dict] = field(default_factory=list)
    origin_words: str = ""
    remote: list[dict] = field(default_factory=list)  # by phone or online, apart

    def map_data(self) -> dict | None:
        """What the map needs, once, as compact JSON: the list carries the details."""
        if self.result is None:
            return None
        origin = self.result.origin
        return {
            "origin": {"lat": origin["lat"], "lon": origin["lon"], "label": self.origin_words},
            "isochrone": self.result.isochrone,
            "pace": self.form.pace,
            "estimated": self.result.estimated,
            "matches": [{"id": m["id"], "name": m["name"], "lat": m["venue"]["lat"],
                         "lon": m["venue"]["lon"], "state": m["freshness"]["state"],
                         "minutes": math.ceil(m["walk_minutes"])}
                        for m in self.matches if m.get("venue")],
        }


# A point chosen on the map has no field of its own: its errors show under "Where from".
ERROR_FIELDS = {"lat": "where", "lon": "where"}


def search(session: Session, service: WalkingService, form: SearchForm, *, data_dir: Path,
           now: datetime) -> SearchOutcome:
    """Run a connector's search; every bad value is reported against its form field."""
    outcome = SearchOutcome(form)
    if not form.has_where:
        return outcome
    minutes = 15
    try:
        minutes = int(form.minutes)
    except ValueError:
        outcome.errors["minutes"] = f"{form.minutes!r} is not a whole number of minutes " \
                                    "(5 to 30)"
    else:
        if not MINUTES[0] <= minutes <= MINUTES[1]:
            outcome.errors["minutes"] = f"{minutes} minutes is outside 5 to 30"
            minutes = 15
    try:
        query = form.query(session, data_dir, minutes)
    except ValidationError as exc:
        outcome.errors[ERROR_FIELDS.get(exc.field, exc.field)] = exc.message
        return outcome
    if outcome.errors:
        return outcome
    result = find_matches(session, service, query, now=now, remote=True)
    outcome.result = result
    outcome.origin_words = _origin_words(query)
    outcome.matches = enrich(session, result.matches, now=now)
    for m in outcome.matches:
        m["getting_there"] = service.getting_there(m["venue"]["lat"], m["venue"]["lon"],
                                                   query.pace) if m.get("venue") else []
    outcome.remote = enrich(session, result.remote, now=now)
    return outcome


def why_words(match: Mapping[str, Any]) -> str:
    """A result's reasons as the page says them: "Why: 9 min walk …; freshness: …"."""
    return f"Why: {'; '.join(match['why'])}."


def result_now(session: Session, service: WalkingService, form: SearchForm,
               activity_id: int, *, data_dir: Path, now: datetime) -> dict | None:
    """One listing as the connector's search shows it now (after a visit changed its
    standing): the same search, so its "why" is exactly what a reload would show. None when
    there is no search or the listing is no longer in it."""
    if not form.has_where:
        return None
    outcome = search(session, service, form, data_dir=data_dir, now=now)
    return next((m for m in [*outcome.matches, *outcome.remote] if m["id"] == activity_id),
                None)


def _origin_words(query: MatchQuery) -> str:
    if query.origin_method == "postcode":
        return query.postcode or ""
    if query.origin_method == "outcode":
        return f"{query.postcode} (approximately: the middle of {query.postcode.split()[0]})" \
            if query.postcode else "an approximate point"
    if query.origin_method == "terminated":
        return f"{query.postcode} ({query.origin_note})"
    return "the point chosen on the map"


def enrich(session: Session, matches: list[dict], *, now: datetime) -> list[dict]:
    """Add what connectors said, reported closures and session words to ranked matches."""
    ids = [m["id"] for m in matches]
    said = endorsements(session, ids, now=now)
    closed = reported_closed(session, ids)
    for m in matches:
        m["endorsement"] = said.get(m["id"])
        m["session_words"] = [session_words(s, short=True) for s in m["next_sessions"]]
        m["cost_words"] = cost_in_words(m["cost"])
        if m["id"] in closed:
            m["freshness"] = closed_freshness(m["freshness"], closed[m["id"]], now)
            m["stale"] = True
    return matches


# -- reported closed ------------------------------------------------------------------------

def reported_closed(session: Session, ids: Sequence[int]) -> dict[int, datetime | None]:
    """Listings marked possibly closed, with when a person reported it (None: a feed)."""
    out: dict[int, datetime | None] = {}
    for chunk in chunks(ids):
        for activity_id in session.scalars(select(Activity.id).where(
                Activity.id.in_(chunk), Activity.possibly_closed.is_(True))):
            out[activity_id] = None
        for activity_id, created in session.execute(
                select(ReviewItem.activity_id, ReviewItem.created_at).where(
                    ReviewItem.activity_id.in_(chunk), ReviewItem.kind == "report-closed",
                    ReviewItem.status == "open")):
            out[activity_id] = created
    return out


def closed_freshness(freshness: dict, reported_at: datetime | None, now: datetime) -> dict:
    words = (f"reported closed {ago(reported_at, now)}; a coordinator will confirm"
             if reported_at else "may have closed; a coordinator will check")
    return freshness | {"state": "possibly-closed", "label": STATE_LABELS["possibly-closed"],
                        "words": words}


def freshness_of(session: Session, activity: Activity, data: dict, now: datetime) -> dict:
    """A serialised listing's freshness, marked if a person reported it closed."""
    closed = reported_closed(session, [activity.id])
    if activity.id in closed:
        return closed_freshness(data["freshness"], closed[activity.id], now)
    return data["freshness"]


def report_closed(session: Session, activity_id: int, actor: Actor, *,
                  reason: str | None) -> ReviewItem:
    """Mark a listing possibly closed and ask a coordinator to confirm. It stays listed,
    marked, until they do; a second report joins the open one."""
    activity = _activity(session, activity_id)
    reason = _clean_text(reason, "reason", 1000)
    apply_changes(session, activity, {"possibly_closed": True}, actor,
                  note="reported closed" + (f": {reason}" if reason else ""))
    item = session.scalar(select(ReviewItem).where(
        ReviewItem.activity_id == activity_id, ReviewItem.kind == "report-closed",
        ReviewItem.status == "open"))
    report = {"by": actor.label, "user_id": actor.user_id, "reason": reason}
    if item is None:
        item = ReviewItem(kind="report-closed", activity_id=activity_id,
                          payload={"reports": [report]}, raised_by=actor.label,
                          raised_by_user_id=actor.user_id)
        session.add(item)
    else:
        item.payload = {**item.payload, "reports": [*item.payload.get("reports", []), report]}
    session.flush()
    refresh(session, activity)  # the map and queues show it possibly closed from now on
    return item


# -- word of mouth --------------------------------------------------------------------------

CHECKS: dict[str, tuple[str, str]] = {
    "client": ("client-attended", "Went with a client"),
    "phoned": ("phoned", "Phoned them"),
    "visited": ("connector-visited", "Checked in person"),
}
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("welcoming", "Welcoming to newcomers?"),
    ("group_averse", "Suits someone who dislikes groups?"),
    ("accessible", "Accessible as listed?"),
)
ANSWERS = ("yes", "no", "unsure")
CHECK_METHODS = frozenset(method for method, _label in CHECKS.values())


def record_check(session: Session, activity_id: int, kind: str, actor: Actor, *,
                 note: str | None = None, answers: Mapping[str, str] | None = None
                 ) -> VerificationEvent:
    """A visit, a call or a client's visit: refreshes the listing and feeds endorsements.
    The note is private (connectors and coordinators only)."""
    if kind not in CHECKS:
        raise ValidationError("kind", f"unknown check {kind!r}", allowed=list(CHECKS))
    activity = _activity(session, activity_id)
    judgement = {}
    for key, value in (answers or {}).items():
        if key not in dict(QUESTIONS):
            raise ValidationError(key, "is not a question asked", allowed=[q for q, _ in
                                                                           QUESTIONS])
        if value in ("", None):
            continue
        if value not in ANSWERS:
            raise ValidationError(key, f"answer {value!r} is not yes, no or unsure",
                                  allowed=list(ANSWERS))
        judgement[key] = value
    event = record_verification(session, activity, CHECKS[kind][0], actor,
                                note=_clean_text(note, "note", 2000), private=True,
                                judgement=judgement or None)
    count_answers(session, activity, judgement, actor)
    session.flush()
    return event


@dataclass
class Endorsement:
    """What connectors have said about a listing."""

    checks: int = 0
    clients: int = 0
    last_at: datetime | None = None
    answers: dict[str, Counter] = field(default_factory=dict)
    notes: list[dict] = field(default_factory=list)  # newest first; private

    def words(self, now: datetime) -> list[str]:
        out = []
        if self.checks:
            out.append(f"{_times(self.checks, 'check')} by connectors, the last "
                       f"{ago(self.last_at, now) if self.last_at else 'some time ago'}")
        if self.clients:
            out.append(f"a client went with a connector {_times(self.clients)}")
        for key, question in QUESTIONS:
            counts = self.answers.get(key)
            if counts:
                parts = [f"{counts[a]} {a}" for a in ANSWERS if counts[a]]
                out.append(f"{question.rstrip('?').lower()}: {', '.join(parts)}")
        return out


def _times(n: int, noun: str | None = None) -> str:
    if noun:
        return f"{n} {noun}{'' if n == 1 else 's'}"
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def endorsements(session: Session, ids: Sequence[int], *, now: datetime,
                 notes: int = 3) -> dict[int, Endorsement]:
    """Connectors' checks and judgements per listing, and their latest private notes."""
    out: dict[int, Endorsement] = {}
    for chunk in chunks(ids):
        events = session.scalars(
            select(VerificationEvent).where(VerificationEvent.activity_id.in_(chunk),
                                            VerificationEvent.method.in_(CHECK_METHODS),
                                            VerificationEvent.actor_type == "user")
            .order_by(VerificationEvent.verified_at.desc(), VerificationEvent.id.desc()))
        for e in events:
            said = out.setdefault(e.activity_id, Endorsement())
            said.checks += 1
            said.clients += e.method == "client-attended"
            said.last_at = max(said.last_at or e.verified_at, e.verified_at)
            for key, value in (e.judgement or {}).items():
                said.answers.setdefault(key, Counter())[value] += 1
            if e.note and len(said.notes) < notes:
                said.notes.append({"note": e.note, "by": e.actor_label,
                                   "how": dict(CHECKS.values()).get(e.method, e.method),
                                   "when": ago(e.verified_at, now)})
    return out


# -- quick edits ----------------------------------------------------------------------------

EDIT_FIELDS: tuple[tuple[str, str], ...] = (
    ("schedule", "When it happens"),
    ("venue_name", "Venue name"),
    ("venue_address", "Venue address"),
    ("venue_postcode", "Venue postcode"),
    ("cost", "Cost"),
    ("contact_name", "Contact name"),
    ("contact_phone", "Contact phone"),
    ("contact_email", "Contact e-mail"),
    ("contact_url", "Website"),
    ("description", "What happens"),
    ("first_visit", "What to expect on a first visit"),
)
EDIT_KEYS = tuple(key for key, _label in EDIT_FIELDS)
EDIT_LABELS = dict(EDIT_FIELDS)
_CONTACT_CHECKS = {"contact_email": values.email, "contact_url": values.url,
                   "contact_phone": values.phone}
#: Fields merged together: a venue is one choice, not three.
MERGE_GROUPS: tuple[tuple[str, ...], ...] = (
    ("schedule",), ("venue_name", "venue_address", "venue_postcode"), ("cost",),
    ("contact_name",), ("contact_phone",), ("contact_email",), ("contact_url",),
    ("description",), ("first_visit",),
)


def edit_values(activity: Activity) -> dict[str, str]:
    """A listing's quick-edit fields as the text a person would type."""
    venue = activity.venue
    return {
        "schedule": describe_all(activity.schedules),
        "venue_name": venue.name if venue else "",
        "venue_address": (venue.address or "") if venue else "",
        "venue_postcode": (venue.postcode or "") if venue else "",
        "cost": cost_as_typed(activity),
        "contact_name": activity.contact_name or "",
        "contact_phone": activity.contact_phone or "",
        "contact_email": activity.contact_email or "",
        "contact_url": activity.contact_url or "",
        "description": activity.description or "",
        "first_visit": activity.first_visit or "",
    }


def clean_edit(raw: Mapping[str, Any]) -> dict[str, str]:
    """Every quick-edit field as text with line endings and outer spaces normalised."""
    return {key: str(raw.get(key) or "").replace("\r\n", "\n").strip() for key in EDIT_KEYS}


@dataclass
class MergeChoice:
    keys: tuple[str, ...]
    label: str
    base: dict[str, str]
    mine: dict[str, str]
    theirs: dict[str, str]
    #: How each side's values read, where the form's text is a code ("full" -> "Full").
    words: dict[str, dict[str, str]] = field(default_factory=dict)

    def shown(self, side: str, key: str) -> str:
        """One side's value ("base", "mine", "theirs") as the page shows it."""
        said = self.words.get(side)
        return said[key] if said else getattr(self, side)[key]

    @property
    def name(self) -> str:
        return self.keys[0]

    @property
    def they_changed(self) -> bool:
        return self.theirs != self.base

    @property
    def i_changed(self) -> bool:
        return self.mine != self.base

    @property
    def differs(self) -> bool:
        return self.mine != self.theirs

    @property
    def preselect(self) -> str | None:
        """Only one side changed it: keep that change. Both did: the person must choose."""
        if not self.differs:
            return "theirs"
        if not self.i_changed:
            return "theirs"
        if not self.they_changed:
            return "mine"
        return None


@dataclass
class EditConflict:
    """Someone saved the listing since this form was opened: both versions, to merge."""

    version: int
    choices: list[MergeChoice]
    theirs: dict[str, str]
    changes: list[ChangeRecord]

    @property
    def differing(self) -> list[MergeChoice]:
        return [c for c in self.choices if c.differs]


@dataclass
class EditResult:
    changed: list[str] = field(default_factory=list)
    conflict: EditConflict | None = None


def save_quick_edit(session: Session, activity_id: int, *, version: int,
                    base: Mapping[str, str], mine: Mapping[str, str], actor: Actor,
                    data_dir: Path) -> EditResult:
    """Save the fields the connector changed since loading the form at ``version``.

    If another save reached the listing first (a newer version whose fields differ from
    what this connector started from), nothing is saved and the conflict is returned so the
    person can merge; a save racing this one is caught by the version counter the same way.
    """
    base, mine = clean_edit(base), clean_edit(mine)
    activity = _activity(session, activity_id)
    if activity.version != version and edit_values(activity) != base:
        return EditResult(conflict=describe_conflict(session, activity, base, mine))
    changed = [key for key in EDIT_KEYS if mine[key] != base[key]]
    if not changed:
        return EditResult()
    fields = listing_fields(session, activity, {k: mine[k] for k in changed},
                            data_dir=data_dir)
    try:
        apply_changes(session, activity, fields, actor, note="quick edit by a connector")
        session.flush()
    except StaleDataError:
        session.rollback()
        activity = _activity(session, activity_id)
        session.refresh(activity)
        return EditResult(conflict=describe_conflict(session, activity, base, mine))
    return EditResult(changed=changed)


def describe_conflict(session: Session, activity: Activity, base: Mapping[str, str],
                      mine: Mapping[str, str]) -> EditConflict:
    """Both versions, group by group: what this connector started from (``base``), what they
    typed (``mine``) and what is saved now."""
    base, mine, theirs = clean_edit(base), clean_edit(mine), edit_values(activity)
    choices = [MergeChoice(keys, EDIT_LABELS[keys[0]] if len(keys) == 1 else "Venue",
                           {k: base[k] for k in keys}, {k: mine[k] for k in keys},
                           {k: theirs[k] for k in keys}) for keys in MERGE_GROUPS]
    changes = list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.activity_id == activity.id)
        .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()).limit(6)))
    return EditConflict(activity.version, choices, theirs, changes)


def merged_values(form: Mapping[str, str], groups: Sequence[tuple[str, ...]] = MERGE_GROUPS
                  ) -> tuple[dict[str, str], list[str]]:
    """The values chosen on the conflict page, and the groups still needing a choice."""
    values: dict[str, str] = {}
    missing = []
    for keys in groups:
        choice = form.get(f"choose_{keys[0]}")
        if choice not in ("mine", "theirs"):
            missing.append(keys[0])
            choice = "theirs"
        for key in keys:
            values[key] = str(form.get(f"{choice}_{key}") or "")
    return values, missing


def listing_fields(session: Session, activity: Activity, changed: Mapping[str, str], *,
                   data_dir: Path) -> dict[str, Any]:
    """Listing fields from changed quick-edit text; ValidationErrors names every form field
    that is wrong, so the person can fix them all in one go."""
    fields: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in changed.items():
        try:
            _one_field(fields, key, value)
        except ValidationError as exc:
            errors[exc.field] = exc.message
    if any(k.startswith("venue_") for k in changed):
        try:
            fields["venue_id"] = _venue_id(session, activity, changed, data_dir=data_dir)
        except ValidationError as exc:
            errors.setdefault(exc.field, exc.message)
    if errors:
        raise ValidationErrors(errors)
    return fields


def _one_field(fields: dict[str, Any], key: str, value: str) -> None:
    """One quick-edit field into `fields`; ValidationError names it if it is wrong."""
    if key == "schedule":
        try:
            fields["schedules"] = parse_schedule(value) if value else []
        except ScheduleError as exc:
            raise ValidationError("schedule", exc.message) from None
    elif key == "cost":
        fields.update(parse_cost(value))
    elif key in ("contact_email", "contact_url", "contact_phone") and value.strip():
        fields[key] = _CONTACT_CHECKS[key](value, key)
    elif key in ("description", "first_visit", "contact_name", "contact_phone",
                 "contact_email", "contact_url"):
        fields[key] = _clean_text(value, key, 5000 if key == "description" else 500)
        if key == "contact_name" and fields[key]:
            fields[key] = values.one_line(fields[key], key)


def _venue_id(session: Session, activity: Activity, changed: Mapping[str, str], *,
              data_dir: Path) -> int | None:
    venue = activity.venue
    name = changed.get("venue_name", venue.name if venue else "")
    address = changed.get("venue_address", (venue.address or "") if venue else "")
    postcode = changed.get("venue_postcode", (venue.postcode or "") if venue else "")
    name = values.one_line(name, "venue_name", limit=300)
    address = values.bounded(address, "venue_address", limit=500, multiline=True)
    if not name:
        raise ValidationError("venue_name", "give the venue's name")
    if not postcode:
        raise ValidationError("venue_postcode", "give the venue's postcode so it is on the map")
    try:
        found = find_or_create_venue(session, name=name, address=address or None,
                                     postcode=postcode, data_dir=data_dir)
    except ValidationError as exc:
        raise ValidationError("venue_postcode", exc.message) from None
    return found.id


def recent_changes(session: Session, activity_id: int, limit: int = 12) -> list[ChangeRecord]:
    return list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.activity_id == activity_id)
        .order_by(ChangeRecord.changed_at.desc(), ChangeRecord.id.desc()).limit(limit)))


# -- routes and the handout -----------------------------------------------------------------

@dataclass(frozen=True)
class Origin:
    lat: float
    lon: float
    label: str


def parse_origin(lat: str | None, lon: str | None, label: str | None) -> Origin | None:
    """The search origin posted with a route or handout request (never stored)."""
    if not lat and not lon:
        return None
    la, lo = parse_lat_lon(lat, lon)
    return Origin(la, lo, _clean_text(label, "origin_label", 120) or "your starting point")


def parse_pace(raw: str | None) -> str:
    pace = raw or "typical"
    if pace not in PACES:
        raise ValidationError("pace", f"unknown pace {pace!r}", allowed=list(PACES))
    return pace


def parse_ids(raw: Sequence[str]) -> list[int]:
    ids: list[int] = []
    for value in raw:
        for part in str(value).split(","):
            if not part.strip():
                continue
            ids.append(id_param(part, "ids"))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationError("ids", "add at least one activity to the shortlist")
    if len(ids) > MAX_SHORTLIST:
        raise ValidationError("ids", f"a handout takes at most {MAX_SHORTLIST} activities")
    return ids


@dataclass
class WalkPlan:
    coords: list[list[float]]
    walk: Walk
    directions: Directions
    labels: list[tuple[str, list[tuple[float, float]]]]
    graph: Any


def plan_walk(service: WalkingService, origin: Origin, lat: float, lon: float, pace: str,
              destination: str) -> WalkPlan:
    """Route, directions and the street names to put on a map, from origin to a venue
    (the names are the network's own edge labels)."""
    mpm = PACES[pace].metres_per_minute
    router, route = service.route_or_estimate(origin.lat, origin.lon, lat, lon, pace)
    coords = route.geometry["coordinates"]
    streets = (router.graph.streets_along(route.edges)
               if router is not None and not route.estimated else None)
    walk = Walk(route.metres, route.minutes, pace, route.estimated)
    steps = directions(coords, destination=destination, metres_per_minute=mpm,
                          estimated=route.estimated, streets=streets)
    if router is None:
        return WalkPlan(coords, walk, steps, [], None)
    return WalkPlan(coords, walk, steps, route_street_labels(coords, streets), router.graph)


def route_feature(session: Session, service: WalkingService, origin: Origin, activity_id: int,
                  pace: str) -> dict:
    """The walking route to one listing as GeoJSON, with written directions."""
    activity, lat, lon = _located(session, activity_id)
    plan = plan_walk(service, origin, lat, lon, pace, _destination(activity))
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": plan.coords},
            "properties": {"activity_id": activity_id, "metres": round(plan.walk.metres),
                           "minutes": round(plan.walk.minutes, 1), "pace": pace,
                           "estimated": plan.walk.estimated, "words": plan.walk.words,
                           "directions": plan.directions.to_dict()}}


def build_handout(session: Session, service: WalkingService, ids: Sequence[int], *,
                  origin: Origin | None, pace: str, layout: str,
                  now: datetime) -> Handout:
    """The shortlist as a handout: public listing fields only, never private notes."""
    if layout not in ("pages", "sheet"):
        raise ValidationError("layout", f"unknown layout {layout!r}", allowed=["pages", "sheet"])
    items: list[HandoutItem] = []
    plans: list[WalkPlan | None] = []
    for number, activity_id in enumerate(ids, start=1):
        activity, lat, lon = _located(session, activity_id, need_venue=False)
        data = activity_to_dict(activity, now=now, lat=lat, lon=lon, sessions=3)
        plan = spec = None
        if lat is not None and lon is not None:
            place = Place(lat, lon, str(number))
            data["getting_there"] = service.getting_there(lat, lon, pace)
            near = tuple(MapStop(s["lat"], s["lon"], s["kind"], s["name"]) for s in
                         sorted(data["getting_there"], key=lambda s: s["metres"]))
            if origin is not None:
                plan = plan_walk(service, origin, lat, lon, pace, _destination(activity))
                spec = MapSpec(plan.graph, (plan.coords,),
                               Place(origin.lat, origin.lon, "Start"), (place,),
                               plan.walk.estimated, tuple(plan.labels), near)
            else:
                _name, router = service.router_for(lat, lon)
                spec = MapSpec(router.graph if router else None, (), None, (place,),
                               stops=near)
        plans.append(plan)
        items.append(HandoutItem(
            number, data, tuple(session_words(s) for s in data["next_sessions"]),
            cost_in_words(data["cost"]), tuple(first_visit_words(data)),
            plan.walk if plan else None, plan.directions if plan else None, spec))
    overview = None
    located = [(item, plan) for item, plan in zip(items, plans, strict=True) if plan]
    if layout == "sheet" and origin is not None and located:
        overview = MapSpec(
            next((p.graph for _i, p in located if p.graph is not None), None),
            tuple(p.coords for _i, p in located), Place(origin.lat, origin.lon, "Start"),
            tuple(Place(i.activity["venue"]["lat"], i.activity["venue"]["lon"],
                           str(i.number)) for i, _p in located),
            any(p.walk.estimated for _i, p in located))
    made_on = now.astimezone(LONDON)
    return Handout(tuple(items), origin.label if origin else None, layout,
                      f"{made_on.day} {made_on:%B %Y}", overview)


def _destination(activity: Activity) -> str:
    return activity.venue.name if activity.venue else activity.name


def _located(session: Session, activity_id: int, *, need_venue: bool = True
             ) -> tuple[Activity, float, float]:
    found = activity_with_point(session, activity_id)
    if found is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    activity, lat, lon = found
    if need_venue and (lat is None or lon is None):
        raise NotFound(f"{activity.name} has no venue to walk to.")
    return activity, lat, lon  # type: ignore[return-value]


# -- helpers --------------------------------------------------------------------------------

def _activity(session: Session, activity_id: int) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"There is no activity with id {activity_id}.")
    return activity


def _clean_text(value: str | None, name: str, limit: int) -> str | None:
    text = (value or "").replace("\r\n", "\n").strip()
    if len(text) > limit:
        raise ValidationError(name, f"is longer than {limit} characters")
    return text or None


