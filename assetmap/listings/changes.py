"""Creating and changing listings, with field-level history and provenance.

Every change goes through `apply_changes`, which writes one history row per changed field and
remembers which fields a person (rather than a feed) set last, so that scrapers can leave
those alone. Nothing is deleted: a listing ends by status, and any change can be reverted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from assetmap import vocab
from assetmap.db import bulk_insert, insert_returning_ids
from assetmap.errors import NotFound, ScheduleError, ValidationError
from assetmap.freshness.due import RULE_FIELDS, new_listing_cache, refresh
from assetmap.listings.service_area import parse_service_area
from assetmap.models import Activity, ActivityTag, ChangeRecord, ScheduleEntry, utcnow
from assetmap.referral.intake import parse_intake
from assetmap.referral.languages import parse_languages, parse_yes_no
from assetmap.schedule import ScheduleRule, parse_schedule, session_weekdays

HUMAN_ACTORS = frozenset({"user", "organiser", "community", "import"})

# Plain columns a change may touch; relationships (tags, schedules) are handled apart.
EDITABLE_FIELDS: tuple[str, ...] = (
    "name", "description", "category", "organisation_id", "venue_id", "mode", "cost_kind",
    "cost_amount", "cost_text", "age_min", "age_max", "gender", "status", "contact_name",
    "contact_email", "contact_phone", "contact_url", "first_visit", "possibly_closed",
    "intake", "languages", "interpreter", "service_area", "join_how",
)
LIST_FIELDS: tuple[str, ...] = ("tags", "schedules")
MODES = ("in-person", "online", "phone")
GENDERS = ("any", "male", "female")
# What a new listing's fields are when nobody says otherwise: the columns' own defaults. A
# new listing's history records the fields it was given, not these: "gender: any" is noise.
NEW_LISTING_DEFAULTS: dict[str, Any] = {
    name: cast(ScalarElementColumnDefault, column.default).arg for name in EDITABLE_FIELDS
    if (column := Activity.__table__.c[name]).default is not None and column.default.is_scalar}


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a signed-in user, a feed, an import, an organiser's link..."""

    type: str  # user / source / import / organiser / community / system
    label: str
    user_id: int | None = None
    source_id: int | None = None

    @property
    def is_human(self) -> bool:
        return self.type in HUMAN_ACTORS

    @property
    def ref(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.source_id is not None:
            return f"source:{self.source_id}"
        return f"{self.type}:{self.label}"


SYSTEM = Actor("system", "AssetMap")


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def current_value(activity: Activity, field: str) -> Any:
    if field == "tags":
        return sorted(activity.tags)
    if field == "schedules":
        return [row.rule for row in activity.schedule_rows]
    return jsonable(getattr(activity, field))


def validate_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Clean and check listing fields; ValidationError names the first bad one (in the order
    of _FIELD_CHECKS, so the same edit always reports the same field)."""
    clean: dict[str, Any] = {}
    for field, value in fields.items():
        if field not in EDITABLE_FIELDS and field not in LIST_FIELDS:
            raise ValidationError(field, "is not a listing field",
                                  allowed=list(EDITABLE_FIELDS + LIST_FIELDS))
        clean[field] = (value.strip() or None) if isinstance(value, str) else value
    for field, check, when_none in _FIELD_CHECKS:
        if field in clean and (when_none or clean[field] is not None):
            clean[field] = check(clean[field])
    return clean


def _name(value: str | None) -> str:
    if not value:
        raise ValidationError("name", "a listing needs a name")
    if len(value) > 300:
        raise ValidationError("name", "is longer than 300 characters")
    return value


def _category(value: str | None) -> str:
    category = vocab.resolve_category(value or "")
    if category is None:
        raise ValidationError("category", f"unknown category {value!r}",
                              allowed=sorted(vocab.CATEGORY_IDS))
    return category


def _one_of(field: str, what: str, allowed: Sequence[str]) -> Callable[[Any], Any]:
    """A check that the value is one of `allowed` (None is not)."""

    def check(value: Any) -> Any:
        if value not in allowed:
            raise ValidationError(field, f"unknown {what} {value!r}", allowed=list(allowed))
        return value

    return check


def _cost_amount(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value).lstrip("£"))
    except InvalidOperation:
        raise ValidationError("cost_amount", "is not an amount in pounds") from None
    if amount < 0 or amount > 10000:
        raise ValidationError("cost_amount", "must be between 0 and 10000")
    return amount.quantize(Decimal("0.01"))


def _age(field: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        try:
            years = int(value)
        except (TypeError, ValueError):
            raise ValidationError(field, "is not a whole number of years") from None
        if not 0 <= years <= 120:
            raise ValidationError(field, "must be between 0 and 120")
        return years

    return check


def _tags(value: Sequence[str] | None) -> list[str]:
    tags = []
    for raw in value or []:
        tag = vocab.resolve_tag(raw)
        if tag is None:
            raise ValidationError("tags", f"unknown suitability tag {raw!r}",
                                  allowed=sorted(vocab.TAG_IDS))
        tags.append(tag)
    return sorted(set(tags))


def _join_how(value: str) -> str:
    if len(value) > 2000:
        raise ValidationError("join_how", "is longer than 2000 characters")
    return value


#: Each field's check, in the order they are checked; True: the check sees None too.
_FIELD_CHECKS: tuple[tuple[str, Callable[[Any], Any], bool], ...] = (
    ("name", _name, True),
    ("category", _category, True),
    ("status", _one_of("status", "status", vocab.ACTIVITY_STATUSES), True),
    ("cost_kind", _one_of("cost_kind", "cost kind", vocab.COST_KINDS), True),
    ("mode", _one_of("mode", "mode", MODES), True),
    ("gender", _one_of("gender", "value", GENDERS), True),
    ("cost_amount", _cost_amount, False),
    ("age_min", _age("age_min"), False),
    ("age_max", _age("age_max"), False),
    ("tags", _tags, True),
    ("schedules", lambda value: [_schedule_dict(s) for s in value or []], True),
    ("intake", parse_intake, True),
    ("languages", parse_languages, True),
    ("interpreter", lambda value: parse_yes_no(value, "interpreter"), True),
    ("service_area", parse_service_area, True),
    ("join_how", _join_how, False),
)


def _schedule_dict(value: ScheduleRule | Mapping | str) -> dict:
    try:
        if isinstance(value, ScheduleRule):
            rule = value
        elif isinstance(value, str):
            (rule,) = parse_schedule(value)
        else:
            rule = ScheduleRule.from_dict(dict(value))
    except (ScheduleError, KeyError, ValueError) as exc:
        raise ValidationError("schedule", str(exc)) from None
    data = rule.to_dict()
    data.pop("text", None)
    return data


def _weekdays(rules: Sequence[Mapping]) -> int:
    """The `session_weekdays` column for validated schedule rules, wherever they are written."""
    return session_weekdays(ScheduleRule.from_dict(dict(rule)) for rule in rules)


def _set(session: Session, activity: Activity, field: str, value: Any) -> None:
    if field == "tags":
        activity.tag_rows = [ActivityTag(tag=t) for t in value]
    elif field == "schedules":
        if activity.id is not None and activity.schedule_rows:
            for row in list(activity.schedule_rows):
                activity.schedule_rows.remove(row)
            session.flush()  # free the (activity, position) keys before reusing them
        activity.schedule_rows = [ScheduleEntry(position=i, kind=rule["kind"], rule=rule)
                                  for i, rule in enumerate(value)]
        activity.session_weekdays = _weekdays(value)
    else:
        setattr(activity, field, value)


def apply_changes(session: Session, activity: Activity, fields: Mapping[str, Any],
                  actor: Actor, *, note: str | None = None,
                  at: datetime | None = None) -> list[ChangeRecord]:
    """Apply validated changes; one history row per field that really changed."""
    clean = validate_fields(fields)
    at = at or utcnow()
    records: list[ChangeRecord] = []
    is_new = activity.id is None
    for field, value in clean.items():
        old = None if is_new else current_value(activity, field)
        new = jsonable(value) if field not in LIST_FIELDS else value
        if old == new and not is_new:
            continue
        if is_new and _unsaid(field, new):
            continue
        _set(session, activity, field, value)
        if field == "intake":  # who said so and when; assetmap.listings.referral names roles
            activity.intake_by, activity.intake_at = actor.label, at
        records.append(ChangeRecord(
            field=field, old_value=old, new_value=new, changed_at=at, actor_type=actor.type,
            actor_label=actor.label, user_id=actor.user_id, source_id=actor.source_id,
            note=note))
        if actor.is_human:
            provenance = dict(activity.field_provenance or {})
            provenance[field] = {"by": actor.ref, "at": at.isoformat()}
            activity.field_provenance = provenance
    if records and is_new:  # nothing is known of a new listing yet; cached before its INSERT
        refresh(session, activity, listed=True)
    if records:
        if activity.id is None:
            session.add(activity)  # inserted with its history at the next flush
            activity.changes.add_all(records)
        else:
            for record in records:
                record.activity_id = activity.id
            session.add_all(records)
        if not is_new and RULE_FIELDS & {r.field for r in records}:
            refresh(session, activity)  # keep the freshness cache true
    return records


def create_activity(session: Session, fields: Mapping[str, Any], actor: Actor, *,
                    at: datetime | None = None, demo: bool = False) -> Activity:
    """A new listing with its history."""
    clean = _new_listing_fields(fields)
    activity = Activity(demo=demo, field_provenance={}, created_at=at or utcnow(),
                        updated_at=at or utcnow())
    apply_changes(session, activity, clean, actor, at=at)
    session.flush()
    return activity


def create_activities(session: Session, many: Sequence[Mapping[str, Any]], actor: Actor, *,
                      at: datetime, columns: Mapping[str, Any] | None = None) -> list[int]:
    """Many new listings, each as `create_activity` makes it (the same rows and creation
    history), in a few set-based INSERTs: a feed's first load brings thousands, and the unit
    of work would spend most of its time on a dozen history objects per listing.

    `columns` sets columns that are not listing fields (e.g. `last_seen_by_source_at`).
    Returns the new ids in the order of `many`. Not for human actors (no provenance kept).
    """
    if actor.is_human:
        raise ValueError("create_activities is for feeds; people's edits need provenance")
    cleans = [validate_fields(_new_listing_fields(fields)) for fields in many]
    if not cleans:
        return []
    blank = {name: None for name in EDITABLE_FIELDS} | NEW_LISTING_DEFAULTS | {
        "demo": False, "field_provenance": {}, "version": 1, "created_at": at,
        "intake_by": None, "intake_at": None,
        "updated_at": at, **new_listing_cache(at), **(columns or {})}  # as Activity(...)
    rows, history = [], []
    for clean in cleans:
        row = dict(blank, session_weekdays=_weekdays(clean.get("schedules") or ()))
        changes = []
        for name, value in clean.items():
            new = value if name in LIST_FIELDS else jsonable(value)
            if _unsaid(name, new):
                continue
            if name not in LIST_FIELDS:
                row[name] = value
            changes.append((name, new))
        if row.get("intake"):
            row["intake_by"], row["intake_at"] = actor.label, at
        rows.append(row)
        history.append(changes)
    ids = insert_returning_ids(session, Activity.__table__, rows)
    change = {"old_value": None, "changed_at": at, "actor_type": actor.type,
              "actor_label": actor.label, "user_id": actor.user_id,
              "source_id": actor.source_id, "note": None, "reverts_id": None}
    bulk_insert(session, ChangeRecord.__table__, [
        change | {"activity_id": activity_id, "field": name, "new_value": new}
        for activity_id, changes in zip(ids, history, strict=True) for name, new in changes])
    bulk_insert(session, ActivityTag.__table__, [
        {"activity_id": activity_id, "tag": tag}
        for activity_id, clean in zip(ids, cleans, strict=True)
        for tag in clean.get("tags") or ()])
    bulk_insert(session, ScheduleEntry.__table__, [
        {"activity_id": activity_id, "position": position, "kind": rule["kind"], "rule": rule}
        for activity_id, clean in zip(ids, cleans, strict=True)
        for position, rule in enumerate(clean.get("schedules") or ())])
    return ids


def _unsaid(field: str, value: Any) -> bool:
    """A new listing's field left empty or at its default: not recorded as a change."""
    return value in (None, [], "") or (
        field in NEW_LISTING_DEFAULTS and NEW_LISTING_DEFAULTS[field] == value)


def _new_listing_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    clean = dict(fields)
    clean.setdefault("status", "active")
    for required in ("name", "category"):
        if not clean.get(required):
            raise ValidationError(required, "is required")
    return clean


def get_activity(session: Session, activity_id: int) -> Activity:
    activity = session.get(Activity, activity_id)
    if activity is None:
        raise NotFound(f"no activity with id {activity_id}")
    return activity


def history(session: Session, activity_id: int) -> list[ChangeRecord]:
    return list(session.scalars(
        select(ChangeRecord).where(ChangeRecord.activity_id == activity_id)
        .order_by(ChangeRecord.changed_at, ChangeRecord.id)))


#: Fields a listing cannot be without (`apply_changes` refuses to empty them), so a change
#: that first set one has nothing to revert to.
REQUIRED_FIELDS: frozenset[str] = frozenset({"name", "category"})


def revertible(change: ChangeRecord) -> bool:
    """Whether reverting `change` could succeed: not when it would empty a required field."""
    return not (change.field in REQUIRED_FIELDS and change.old_value in (None, ""))


def revert(session: Session, change_id: int, actor: Actor) -> ChangeRecord:
    """Put a field back to the value it had before `change_id`; itself a new change."""
    change = session.get(ChangeRecord, change_id)
    if change is None:
        raise NotFound(f"no change with id {change_id}")
    activity = get_activity(session, change.activity_id)
    records = apply_changes(session, activity, {change.field: change.old_value}, actor,
                            note=f"revert of the change made {change.changed_at:%d %b %Y %H:%M}"
                                 + (f" by {change.actor_label}" if change.actor_label else ""))
    if not records:
        raise ValidationError("change", "the field already has the value from before it")
    records[0].reverts_id = change_id
    return records[0]


def human_fields(activity: Activity) -> set[str]:
    """Fields whose current value a person set; a feed must not overwrite them."""
    return set((activity.field_provenance or {}).keys())

