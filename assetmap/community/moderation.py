"""Moderation: what coordinators confirm before it reaches the map.

Two kinds of work share one queue: community suggestions (approve as a new listing, merge
into an existing one field by field, or reject with a reason) and review items (a connector
reported a listing closed, an organiser sent changes or said it stopped). Each suggestion is
shown beside the listings it most likely duplicates: a similar name, a few hundred metres
away, on the same day. Every change goes through `apply_changes`, so it is in the history
with who and when; every decision is kept on the suggestion or review item itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from assetmap.community.suggestions import listing_fields
from assetmap.errors import Conflict, NotFound, ValidationError
from assetmap.freshness.due import refresh
from assetmap.geo import haversine_m
from assetmap.listings.changes import Actor, apply_changes, create_activity, history
from assetmap.listings.field_words import plain_value_words
from assetmap.listings.same_group import (
    LIKELY_DUPLICATE,
    is_likely_duplicate,
    name_similarity,
    name_words,
)
from assetmap.listings.venues import find_or_create_venue
from assetmap.listings.verification import record_verification
from assetmap.models import (
    Activity,
    ChangeRecord,
    ReviewItem,
    Suggestion,
    Venue,
    VerificationEvent,
    utcnow,
)
from assetmap.schedule import DAY_CODES, DAY_NAMES, ScheduleRule
from assetmap.spatial import BBox, in_bbox, lat_of, lon_of
from assetmap.values import cost_as_typed

MAX_DUPLICATES = 5
#: A suggestion a coordinator accepted: as a new listing, or merged into an existing one.
ACCEPTED_STATUSES: tuple[str, ...] = ("approved", "merged")

REVIEW_KINDS: dict[str, str] = {
    "report-closed": "Reported closed",
    "organiser-changes": "The organiser sent changes",
    "organiser-stopped": "The organiser says it has stopped",
    "not-accessible": "Connectors say it is not accessible as listed",
}
# The parts of a listing a proposal (a suggestion, an organiser's changes) can carry.
PROPOSAL_LABELS: dict[str, str] = {
    "name": "Name", "category": "Kind of activity", "description": "What happens",
    "mode": "In person / online / phone", "venue": "Where", "schedules": "When",
    "cost": "Cost", "audience": "Who it is for", "tags": "Suits",
    "contact_name": "Contact name", "contact_email": "Contact e-mail",
    "contact_phone": "Contact phone", "contact_url": "Website",
}


# -- likely duplicates ---------------------------------------------------------------------

def _days(rules: Iterable[ScheduleRule]) -> set[str]:
    days: set[str] = set()
    for rule in rules:
        if rule.kind == "once" and rule.on_date is not None:
            days.add(DAY_CODES[rule.on_date.weekday()])
        elif rule.kind == "daily" and not rule.days:
            days.update(DAY_CODES)
        else:
            days.update(rule.days)
    return days


@dataclass(frozen=True)
class Duplicate:
    activity: Activity
    lat: float | None
    lon: float | None
    metres: float | None
    name_score: float
    shared_days: tuple[str, ...]

    @property
    def reasons(self) -> list[str]:
        out = []
        if self.name_score >= LIKELY_DUPLICATE.name:
            out.append("same name" if self.name_score >= 0.99 else "similar name")
        if self.metres is not None:
            out.append(f"{round(self.metres)} m away" if self.metres < 1000
                       else f"{self.metres / 1000:.1f} km away")
        if self.shared_days:
            out.append("same day: " + ", ".join(DAY_NAMES[d] for d in self.shared_days))
        return out


def likely_duplicates(session: Session, *, name: str, lat: float | None, lon: float | None,
                      schedules: list[dict], limit: int = MAX_DUPLICATES) -> list[Duplicate]:
    """Listings that are probably the same group: a similar name, and a few hundred metres
    away (or almost the same name a little further); without a place, on the same day.

    Candidates come from two indexed queries (listings near the point; listings sharing a
    distinctive word of the name) and are scored here.
    """
    stmt = (select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
            .outerjoin(Venue, Activity.venue_id == Venue.id)
            .options(selectinload(Activity.schedule_rows), selectinload(Activity.venue)))
    found: dict[int, tuple[Activity, float | None, float | None]] = {}
    if lat is not None and lon is not None:
        delta = 0.008  # a box of roughly 900 m by 550 m each way, then exact distances
        near = stmt.where(in_bbox(Venue.geom, BBox(lon - delta, lat - delta, lon + delta,
                                                   lat + delta))).limit(500)
        found.update({a.id: (a, alat, alon) for a, alat, alon in session.execute(near)})
    words = sorted({w for w in name_words(name) if len(w) >= 4}, key=len, reverse=True)[:3]
    if words:
        named = stmt.where(or_(*(func.lower(Activity.name).contains(w, autoescape=True)
                                 for w in words))).limit(300)
        found.update({a.id: (a, alat, alon) for a, alat, alon in session.execute(named)})
    wanted_days = _days(ScheduleRule.from_dict(r) for r in schedules)
    scored = []
    for activity, alat, alon in found.values():
        score = name_similarity(name, activity.name)
        if score < LIKELY_DUPLICATE.name:
            continue
        metres = (haversine_m(lat, lon, alat, alon)
                  if None not in (lat, lon, alat, alon) else None)
        shared = tuple(d for d in DAY_CODES if d in wanted_days & _days(activity.schedules))
        if metres is not None:  # both placed: nearby, or almost the same name not far off
            likely = is_likely_duplicate(score, metres)
        else:  # online, by phone, or not placed: the name and the day must do
            likely = bool(shared) or score >= (LIKELY_DUPLICATE.far_name or 1.0)
        if likely:
            scored.append(Duplicate(activity, alat, alon, metres, score, shared))
    scored.sort(key=_rank)
    return scored[:limit]


def _rank(dup: Duplicate) -> tuple:
    """Nearby and same day first, then the closest names, then the nearest."""
    near = dup.metres is not None and dup.metres <= LIKELY_DUPLICATE.metres
    return (-(int(near) + int(bool(dup.shared_days))), -dup.name_score,
            dup.metres if dup.metres is not None else float("inf"), dup.activity.id)


def suggestion_duplicates(session: Session, suggestion: Suggestion) -> list[Duplicate]:
    fields = suggestion.fields
    return likely_duplicates(session, name=fields["name"], lat=suggestion.lat,
                             lon=suggestion.lon, schedules=fields.get("schedules") or [])


# -- proposals: a suggestion or an organiser's changes, shown and applied part by part -----

def proposal_from_suggestion(suggestion: Suggestion) -> dict[str, Any]:
    f = suggestion.fields
    proposal: dict[str, Any] = {k: v for k, v in listing_fields(f).items()
                                if k in PROPOSAL_LABELS}
    if f.get("cost_kind") and f["cost_kind"] != "unknown":
        proposal["cost"] = {k: f.get(k) for k in ("cost_kind", "cost_amount", "cost_text")}
    if f.get("age_min") is not None or f.get("age_max") is not None or (
            f.get("gender") not in (None, "any")):
        proposal["audience"] = {k: f.get(k) for k in ("age_min", "age_max", "gender")}
    if suggestion.lat is not None:
        proposal["venue"] = {"name": venue_name(f), "address": f.get("address"),
                             "postcode": f.get("postcode"), "lat": suggestion.lat,
                             "lon": suggestion.lon,
                             "approximate": bool(f.get("location_approximate"))}
    if proposal.get("mode") == "in-person":
        proposal.pop("mode")
    return proposal


def venue_name(fields: Mapping[str, Any]) -> str:
    """The venue's name, or the best stand-in a person would recognise."""
    if fields.get("venue_name"):
        return fields["venue_name"]
    if fields.get("address"):
        return fields["address"].split("\n")[0].split(",")[0]
    if fields.get("postcode"):
        return f"Near {fields['postcode']}"
    return f"Where {fields.get('name') or 'the group'} meets"


def current_values(activity: Activity) -> dict[str, Any]:
    venue = activity.venue
    return {
        "name": activity.name, "category": activity.category,
        "description": activity.description, "mode": activity.mode,
        "venue": {"name": venue.name, "address": venue.address, "postcode": venue.postcode}
        if venue else None,
        "schedules": [row.rule for row in activity.schedule_rows],
        "cost": {"cost_kind": activity.cost_kind,
                 "cost_amount": str(activity.cost_amount) if activity.cost_amount is not None
                 else None, "cost_text": activity.cost_text},
        "audience": {"age_min": activity.age_min, "age_max": activity.age_max,
                     "gender": activity.gender},
        "tags": activity.tags, "contact_name": activity.contact_name,
        "contact_email": activity.contact_email, "contact_phone": activity.contact_phone,
        "contact_url": activity.contact_url,
    }


def describe_value(key: str, value: Any) -> str:
    """A proposal part in plain words (always plain text: templates escape it)."""
    if value in (None, "", [], {}):
        return ""
    if key == "cost":
        return cost_as_typed(value) or "not known"
    if key == "venue":
        return ", ".join(p for p in (value.get("name"), value.get("address"),
                                     value.get("postcode")) if p)
    if key == "audience":
        parts = []
        if value.get("gender") in ("male", "female"):
            parts.append("men" if value["gender"] == "male" else "women")
        if value.get("age_min") is not None and value.get("age_max") is not None:
            parts.append(f"aged {value['age_min']} to {value['age_max']}")
        elif value.get("age_min") is not None:
            parts.append(f"aged {value['age_min']} and over")
        elif value.get("age_max") is not None:
            parts.append(f"aged up to {value['age_max']}")
        return ", ".join(parts) or "anyone"
    return plain_value_words(key, value)


@dataclass(frozen=True)
class ProposalRow:
    key: str
    label: str
    proposed: str
    current: str

    @property
    def differs(self) -> bool:
        return self.proposed != self.current

    @property
    def fills_gap(self) -> bool:
        return not self.current


def proposal_rows(activity: Activity, proposal: Mapping[str, Any]) -> list[ProposalRow]:
    current = current_values(activity)
    return [ProposalRow(key, PROPOSAL_LABELS[key], describe_value(key, proposal[key]),
                        describe_value(key, current.get(key)))
            for key in PROPOSAL_LABELS if key in proposal]


def _venue_for(session: Session, venue: Mapping[str, Any], data_dir: Path) -> Venue:
    # An outward-code centroid stays flagged approximate: let the venue service re-derive it.
    exact = not venue.get("approximate") or not venue.get("postcode")
    return find_or_create_venue(
        session, name=venue["name"], address=venue.get("address"),
        postcode=venue.get("postcode"), lat=venue.get("lat") if exact else None,
        lon=venue.get("lon") if exact else None, data_dir=data_dir)


def apply_proposal(session: Session, activity: Activity, proposal: Mapping[str, Any],
                   keys: Iterable[str], actor: Actor, *, note: str,
                   data_dir: Path) -> list[ChangeRecord]:
    """Apply the chosen parts of a proposal; tags are added to the listing's, not swapped."""
    changes: dict[str, Any] = {}
    for key in keys:
        if key not in proposal or key not in PROPOSAL_LABELS:
            continue
        value = proposal[key]
        if key == "venue":
            changes["venue_id"] = _venue_for(session, value, data_dir).id
        elif key in ("cost", "audience"):
            changes.update(value)
        elif key == "tags":
            changes["tags"] = sorted(set(activity.tags) | set(value))
        else:
            changes[key] = value
    return apply_changes(session, activity, changes, actor, note=note)


# -- suggestions -----------------------------------------------------------------------------

def get_suggestion(session: Session, suggestion_id: int) -> Suggestion:
    suggestion = session.get(Suggestion, suggestion_id)
    if suggestion is None:
        raise NotFound(f"There is no suggestion with id {suggestion_id}.")
    return suggestion


def _pending(suggestion: Suggestion) -> None:
    if suggestion.status != "pending":
        raise Conflict(f"Suggestion {suggestion.reference} was already {suggestion.status}.")


def _decide(suggestion: Suggestion, status: str, actor: Actor, *, reason: str | None = None,
            activity: Activity | None = None) -> None:
    suggestion.status = status
    suggestion.decided_by_user_id = actor.user_id
    suggestion.decided_at = utcnow()
    suggestion.decision_reason = reason
    if activity is not None:
        suggestion.activity_id = activity.id


def _community_verification(session: Session, activity: Activity, suggestion: Suggestion,
                            actor: Actor, how: str) -> VerificationEvent:
    return record_verification(
        session, activity, "community-suggested", actor, private=True,
        note=f"Suggested by the community ({suggestion.reference}), {how} by coordinator "
             f"{actor.label}.")


def approve(session: Session, suggestion: Suggestion, actor: Actor, *, data_dir: Path,
            category: str | None = None) -> Activity:
    """Create the listing from the suggestion; the coordinator may correct the category."""
    _pending(suggestion)
    fields = listing_fields(suggestion.fields)
    if category:
        fields["category"] = category
    proposal = proposal_from_suggestion(suggestion)
    if "venue" in proposal:
        fields["venue_id"] = _venue_for(session, proposal["venue"], data_dir).id
    activity = create_activity(session, fields, actor)
    note = f"from community suggestion {suggestion.reference}"
    for record in history(session, activity.id):
        record.note = record.note or note
    _community_verification(session, activity, suggestion, actor, "approved")
    _decide(suggestion, "approved", actor, activity=activity)
    return activity


def merge(session: Session, suggestion: Suggestion, activity: Activity, keys: Iterable[str],
          actor: Actor, *, data_dir: Path, checked: bool = False) -> list[ChangeRecord]:
    """Take the chosen parts of a suggestion into an existing listing.

    An anonymous suggestion is evidence the group still runs, not that its details are
    right: unless the coordinator says they checked the details (`checked`), it is recorded
    as a sighting, which cannot make a stale listing fresh on its own."""
    _pending(suggestion)
    records = apply_proposal(session, activity, proposal_from_suggestion(suggestion), keys,
                             actor, note=f"merged from community suggestion "
                                         f"{suggestion.reference}", data_dir=data_dir)
    if checked:
        _community_verification(session, activity, suggestion, actor, "merged")
    else:
        record_verification(
            session, activity, "community-sighted", actor, private=True,
            note=f"Suggested by the community ({suggestion.reference}), merged by coordinator "
                 f"{actor.label} without checking the details.")
        refresh(session, activity)  # the sighting may postpone the due date a little
    _decide(suggestion, "merged", actor, activity=activity,
            reason=", ".join(r.field for r in records) or "no field changed")
    return records


def reject(session: Session, suggestion: Suggestion, actor: Actor, reason: str) -> None:
    _pending(suggestion)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError("reason", "Give a reason, so others know why it was rejected")
    _decide(suggestion, "rejected", actor, reason=reason[:2000])


# -- review items ----------------------------------------------------------------------------

REVIEW_ACTIONS: dict[str, tuple[str, ...]] = {
    "report-closed": ("confirm-closed", "still-running"),
    "organiser-stopped": ("confirm-closed", "still-running"),
    "organiser-changes": ("apply-changes", "reject"),
}


def review_actions(kind: str) -> tuple[str, ...]:
    return REVIEW_ACTIONS.get(kind, ("resolve",))


def get_review_item(session: Session, item_id: int) -> ReviewItem:
    item = session.get(ReviewItem, item_id)
    if item is None:
        raise NotFound(f"There is no review item with id {item_id}.")
    return item


def resolve_review(session: Session, item: ReviewItem, action: str, actor: Actor, *,
                   data_dir: Path, note: str | None = None,
                   keys: Iterable[str] = ()) -> str:
    """Carry out a coordinator's decision on a review item; returns what happened, in words."""
    if item.status != "open":
        raise Conflict(f"This item was already resolved: {item.resolution or item.status}.")
    if action not in review_actions(item.kind):
        raise ValidationError("action", f"cannot {action!r} a {item.kind!r} item",
                              allowed=list(review_actions(item.kind)))
    note = " ".join((note or "").split())[:2000] or None
    activity = session.get(Activity, item.activity_id) if item.activity_id else None
    if activity is None and action != "resolve":
        raise NotFound("The listing this item is about no longer exists.")
    if action == "confirm-closed":
        assert activity is not None
        apply_changes(session, activity, {"status": "ended", "possibly_closed": False}, actor,
                      note=f"closure confirmed ({REVIEW_KINDS[item.kind].lower()})"
                           + (f": {note}" if note else ""))
        done = "Listing marked as ended."
        for other in session.scalars(select(ReviewItem).where(
                ReviewItem.activity_id == activity.id, ReviewItem.status == "open",
                ReviewItem.kind.in_(("report-closed", "organiser-stopped")),
                ReviewItem.id != item.id)):
            _close(other, actor, f"closed together with item {item.id}")
    elif action == "still-running":
        assert activity is not None
        apply_changes(session, activity, {"possibly_closed": False}, actor,
                      note="report of closure dismissed" + (f": {note}" if note else ""))
        record_verification(session, activity, "coordinator-checked", actor,
                            note=note or "Checked after a report that it had closed: still "
                                         "running.")
        done = "Listing kept; it is no longer marked as possibly closed."
    elif action == "apply-changes":
        assert activity is not None
        keys = list(keys)
        if not keys:
            raise ValidationError("use", "Tick at least one change to apply, or reject them")
        records = apply_proposal(session, activity, item.payload.get("changes") or {}, keys,
                                 actor, note="organiser's changes, approved by coordinator",
                                 data_dir=data_dir)
        record_verification(session, activity, "organiser-confirmed", actor,
                            note=f"Organiser's changes approved by coordinator {actor.label}.")
        done = f"Applied: {', '.join(sorted({r.field for r in records})) or 'nothing new'}."
    elif action == "reject":
        if not note:
            raise ValidationError("note", "Give a reason, so others know why it was rejected")
        done = "Changes rejected."
    else:
        done = "Resolved."
    _close(item, actor, f"{action}: {note}" if note else action)
    return done


def _close(item: ReviewItem, actor: Actor, resolution: str) -> None:
    item.status = "resolved"
    item.resolved_by_user_id = actor.user_id
    item.resolved_at = utcnow()
    item.resolution = resolution


# -- the queue -------------------------------------------------------------------------------

@dataclass
class SuggestionEntry:
    suggestion: Suggestion
    duplicates: list[Duplicate]


@dataclass
class ReviewEntry:
    item: ReviewItem
    activity: Activity | None
    rows: list[ProposalRow] = field(default_factory=list)

    @property
    def actions(self) -> tuple[str, ...]:
        return review_actions(self.item.kind)

    @property
    def label(self) -> str:
        return REVIEW_KINDS.get(self.item.kind, self.item.kind.replace("-", " ").capitalize())

    @property
    def details(self) -> list[tuple[str, str]]:
        """Payload facts other than structured changes, as (name, text) pairs; a connector's
        reports ({"reports": [{"by", "reason"}...]}) read "reason (by whom)", one a line."""
        out = []
        for key, value in (self.item.payload or {}).items():
            if key == "changes" or value in (None, "", [], {}):
                continue
            items = value if isinstance(value, list) else [value]
            text = "\n".join(_payload_words(v) for v in items)
            out.append((key.replace("_", " ").capitalize(), text))
        return out


def _payload_words(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    if "reason" in value or "by" in value:
        return f"{value.get('reason') or 'no reason given'} ({value.get('by') or 'unknown'})"
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items()
                     if v not in (None, "") and not k.endswith("_id"))


@dataclass
class Queue:
    suggestions: list[SuggestionEntry]
    reviews: list[ReviewEntry]

    @property
    def count(self) -> int:
        return len(self.suggestions) + len(self.reviews)


def pending_count(session: Session) -> int:
    """What waits for a coordinator: pending suggestions plus open review items."""
    suggestions = session.scalar(select(func.count()).select_from(Suggestion)
                                 .where(Suggestion.status == "pending")) or 0
    reviews = session.scalar(select(func.count()).select_from(ReviewItem)
                             .where(ReviewItem.status == "open")) or 0
    return suggestions + reviews


def load_queue(session: Session, *, limit: int = 100) -> Queue:
    """Oldest first: what has waited longest is decided first."""
    suggestions = session.scalars(select(Suggestion).where(Suggestion.status == "pending")
                                  .order_by(Suggestion.created_at, Suggestion.id)
                                  .limit(limit)).all()
    items = session.scalars(select(ReviewItem).where(ReviewItem.status == "open")
                            .order_by(ReviewItem.created_at, ReviewItem.id).limit(limit)).all()
    reviews = []
    for item in items:
        activity = session.get(Activity, item.activity_id) if item.activity_id else None
        rows = (proposal_rows(activity, item.payload.get("changes") or {})
                if activity is not None and item.kind == "organiser-changes" else [])
        reviews.append(ReviewEntry(item, activity, rows))
    return Queue([SuggestionEntry(s, suggestion_duplicates(session, s)) for s in suggestions],
                 reviews)
