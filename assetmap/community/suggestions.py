"""Community suggestions: what anyone may tell us about a group, checked and kept as text.

A suggestion arrives through the public form or the partner JSON API. Every field is checked
and every problem reported at once, named by field, so a form can show each next to its
control and a partner can fix its request in one go. Text is stored exactly as typed (minus
control characters), never as markup. Two spam traps cost a real person nothing: a field only
robots fill in, and a signed start time that tells how long the form took to fill in.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from assetmap import values, vocab
from assetmap.errors import GeocodeError, ScheduleError, ValidationError
from assetmap.listings.changes import GENDERS, MODES
from assetmap.models import Suggestion, utcnow
from assetmap.places.geocode import geocode_postcode, parse_lat_lon
from assetmap.referral.languages import parse_languages
from assetmap.schedule import DAY_CODES, ScheduleRule, describe_all, parse_clock
from assetmap.schedule import parse_schedule as parse_schedule_text
from assetmap.values import clean_text, find_postcode, normalise_postcode, parse_cost, unknown_cost

# Longest text each field keeps; the whole request is also bounded by MAX_CONTENT_LENGTH.
LIMITS: dict[str, int] = {
    "name": 300, "description": 4000, "venue_name": 300, "address": 500, "postcode": 20,
    "schedule": 300, "cost": 200, "contact_name": 200, "contact_email": 320,
    "contact_phone": 60, "contact_url": 500, "notes": 2000, "suggester_name": 200,
    "suggester_contact": 320, "message": 2000, "languages": 200,
}
MULTILINE = frozenset({"description", "notes", "address", "message"})
# The JSON API's fields (the form has the same, with "when" and cost split into controls).
API_FIELDS: tuple[str, ...] = (
    "name", "description", "category", "mode", "venue_name", "address", "postcode", "lat",
    "lon", "schedule", "cost", "age_min", "age_max", "gender", "tags", "contact_name",
    "contact_email", "contact_phone", "contact_url", "notes", "suggester_name",
    "suggester_contact", "contact_consent", "languages",
)
# Listing fields a suggestion carries into `create_activity`.
LISTING_KEYS: tuple[str, ...] = (
    "name", "description", "category", "mode", "schedules", "cost_kind", "cost_amount",
    "cost_text", "age_min", "age_max", "gender", "tags", "contact_name", "contact_email",
    "contact_phone", "contact_url", "languages",
)
FREQUENCIES: dict[str, str] = {
    "weekly": "Every week", "fortnightly": "Every other week", "monthly": "Once a month",
    "once": "Just once (a single date)",
}
WEEKS_OF_MONTH: dict[str, str] = {"1": "First", "2": "Second", "3": "Third", "4": "Fourth",
                                  "-1": "Last"}
HONEYPOT_FIELD = "company_website"
FILL_TOKEN_FIELD = "started"
_FILL_SALT = "assetmap.suggest.started"
_REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L to misread


class SuggestionInvalid(ValidationError):
    """Every invalid field at once: {field: message}, in the order the form shows them."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = errors

    def to_dict(self) -> dict:
        return super().to_dict() | {"errors": dict(self.errors)}


@dataclass
class Draft:
    """A checked suggestion, ready to store."""

    fields: dict[str, Any]
    lat: float | None
    lon: float | None
    suggester_name: str | None
    suggester_contact: str | None
    consent: bool


class FieldChecker:
    """Collects one message per field instead of stopping at the first problem."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw
        self.errors: dict[str, str] = {}

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(field, message)

    def text(self, field: str, *, required: str | None = None) -> str | None:
        value = self.raw.get(field)
        if value is None or value == "":
            if required:
                self.fail(field, required)
            return None
        if not isinstance(value, str):
            self.fail(field, "must be text")
            return None
        value = clean_text(value, multiline=field in MULTILINE)
        if not value:
            if required:
                self.fail(field, required)
            return None
        limit = LIMITS.get(field, 300)
        if len(value) > limit:
            self.fail(field, f"is {len(value)} characters long; the most is {limit}")
            return None
        return value

    def whole_number(self, field: str, low: int, high: int) -> int | None:
        value = self.raw.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            self.fail(field, "must be a whole number")
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            self.fail(field, "must be a whole number")
            return None
        if not low <= number <= high:
            self.fail(field, f"must be between {low} and {high}")
            return None
        return number


# -- spam traps ----------------------------------------------------------------------------

def fill_token(secret_key: str, now: float) -> str:
    """A signed note of when the form was shown; returned with the form."""
    return URLSafeSerializer(secret_key, salt=_FILL_SALT).dumps({"t": int(now)})


def seconds_to_fill(secret_key: str, token: str | None, now: float) -> float | None:
    """How long the form took, or None when the token is missing or was tampered with."""
    if not token:
        return None
    try:
        data = URLSafeSerializer(secret_key, salt=_FILL_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int):
        return None
    return now - data["t"]


def cut_to_limits(fields: list[tuple[str, str]], cut: str | None
                  ) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """What an oversize form carried, to show again (never to store): each text cut to its
    field's limit, and a message in plain words on every field that was cut, or that the
    size limit cut through (`cut`: its end did not arrive)."""
    kept: list[tuple[str, str]] = []
    errors: dict[str, str] = {}
    for name, value in fields:
        limit = LIMITS.get(name)
        if limit is not None and len(value) > limit:
            value = value[:limit]
            errors[name] = (f"This was too long, so we kept the first {limit:,} characters. "
                            "Check how it ends.")
        kept.append((name, value))
    if cut in LIMITS and cut not in errors:
        errors[cut] = "Only the start of this reached us. Check how it ends."
    return kept, errors


def trapped(form: Mapping[str, Any]) -> bool:
    """True when the hidden field only robots see was filled in."""
    return bool(str(form.get(HONEYPOT_FIELD) or "").strip())


# -- parsing pieces shared with organiser changes -----------------------------------------


def _rule_dicts(rules: list[ScheduleRule]) -> list[dict]:
    out = []
    for rule in rules:
        data = rule.to_dict()
        data.pop("text", None)
        out.append(data)
    return out


# -- the two front doors -------------------------------------------------------------------

def parse_api(data: Any, *, data_dir: Path, session: Session, today: date) -> Draft:
    """A partner's JSON object; unknown keys are refused so typos do not vanish silently."""
    if not isinstance(data, dict):
        raise ValidationError("body", "send one JSON object with Content-Type: "
                                      "application/json", allowed=list(API_FIELDS))
    unknown = [k for k in data if k not in API_FIELDS]
    if unknown:
        raise ValidationError(str(unknown[0]), "is not a suggestion field",
                              allowed=list(API_FIELDS))
    check = FieldChecker(data)
    schedules: list[dict] = []
    text = check.text("schedule")
    if text:
        try:
            rules = parse_schedule_text(text)
        except ScheduleError as exc:
            check.fail("schedule", exc.message)
        else:
            if any(r.on_date is not None and r.on_date < today for r in rules):
                check.fail("schedule", "a date in it is in the past")
            schedules = _rule_dicts(rules)
    cost: dict[str, Any] = {}
    cost_raw = check.text("cost")
    try:
        cost = parse_cost(cost_raw)
    except ValidationError as exc:
        check.fail("cost", exc.message)
    tags = data.get("tags")
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[;,]", tags) if t.strip()]
    consent = data.get("contact_consent", False)
    if not isinstance(consent, bool):
        check.fail("contact_consent", "must be true or false")
        consent = False
    return _finish(check, schedules=schedules, cost=cost, tags=tags, consent=consent,
                   data_dir=data_dir, session=session)


def parse_form(form: Mapping[str, Any], *, days: list[str], tags: list[str],
               data_dir: Path, session: Session, today: date) -> Draft:
    """The public form: "when" as days, how often and times; cost as a choice and amount."""
    check = FieldChecker(form)
    schedules = _form_schedule(check, form, days, today)
    cost: dict[str, Any] = unknown_cost()
    kind = form.get("cost_kind") or "unknown"
    if kind not in vocab.COST_KINDS:
        check.fail("cost_kind", "choose one of the answers")
    elif kind == "amount":
        amount = check.text("cost_amount", required="Give the amount, e.g. 3.50")
        if amount:
            try:
                cost = parse_cost(amount, field="cost_amount")
            except ValidationError:
                check.fail("cost_amount", "write an amount in pounds, e.g. 3.50")
    else:
        cost["cost_kind"] = kind
    consent = form.get("contact_consent") == "yes"
    return _finish(check, schedules=schedules, cost=cost, tags=tags, consent=consent,
                   data_dir=data_dir, session=session)


def _form_schedule(check: FieldChecker, form: Mapping[str, Any], days: list[str],
                   today: date) -> list[dict]:
    frequency = form.get("frequency") or "weekly"
    if frequency not in FREQUENCIES:
        check.fail("frequency", "choose how often it happens")
        return []
    bad_days = [d for d in days if d not in DAY_CODES]
    if bad_days:
        check.fail("days", "tick days from the list")
        return []
    start, end = _form_times(check, form)
    on_date = None
    if frequency == "once":
        on_date = _form_date(check, form, today)
        if on_date is None:
            return []
    elif not days:
        if start or end:
            check.fail("days", "Tick the day or days it happens")
        return []  # "when" is optional: a person may not know
    if frequency == "monthly" and str(form.get("week_of_month") or "") not in WEEKS_OF_MONTH:
        check.fail("week_of_month", "Choose which week of the month")
        return []
    if check.errors.keys() & {"start_time", "end_time"}:
        return []
    return _form_rule(check, form, frequency, days, start, end, on_date)


def _form_times(check: FieldChecker, form: Mapping[str, Any]) -> tuple[time | None, time | None]:
    """The start and end clock times typed (None when empty or not a time: the field fails)."""
    times: dict[str, time | None] = {"start_time": None, "end_time": None}
    for field in times:
        raw = str(form.get(field) or "").strip()
        if raw:
            try:
                times[field] = parse_clock(raw)
            except ScheduleError:
                check.fail(field, "write a time like 10:00 or 2:30pm")
    start, end = times["start_time"], times["end_time"]
    if start and end and end <= start:
        check.fail("end_time", "is before the start time")
    return start, end


def _form_date(check: FieldChecker, form: Mapping[str, Any], today: date) -> date | None:
    """A one-off's date: given, a date, and not past (None when not: the field fails)."""
    raw = str(form.get("on_date") or "").strip()
    if not raw:
        check.fail("on_date", "Give the date, e.g. 2026-12-05")
        return None
    try:
        on_date = date.fromisoformat(raw)
    except ValueError:
        check.fail("on_date", "write the date like 2026-12-05")
        return None
    if on_date < today:
        check.fail("on_date", "is in the past")
        return None
    return on_date


def _form_rule(check: FieldChecker, form: Mapping[str, Any], frequency: str, days: list[str],
               start: time | None, end: time | None, on_date: date | None) -> list[dict]:
    ordered = tuple(d for d in DAY_CODES if d in days)
    try:
        if frequency == "once":
            rule = ScheduleRule("once", start, end, on_date=on_date)
        elif frequency == "monthly":
            rule = ScheduleRule("monthly", start, end, days=ordered,
                                positions=(int(form["week_of_month"]),))
        else:
            rule = ScheduleRule("weekly", start, end, days=ordered,
                                interval=2 if frequency == "fortnightly" else 1)
    except ScheduleError as exc:
        check.fail("days", exc.message)
        return []
    return _rule_dicts([rule])


def _finish(check: FieldChecker, *, schedules: list[dict], cost: dict[str, Any], tags: Any,
            consent: bool, data_dir: Path, session: Session) -> Draft:
    """The checks both front doors share; raises SuggestionInvalid naming every bad field."""
    name = check.text("name", required="Tell us the group's name")
    description = check.text("description")
    category, guessed = _category(check)
    mode = check.raw.get("mode") or "in-person"
    if mode not in MODES:
        check.fail("mode", f"must be one of {', '.join(MODES)}")
        mode = "in-person"
    venue_name = check.text("venue_name")
    address = check.text("address")
    postcode_raw = check.text("postcode")
    lat, lon, postcode, approximate = locate(check, postcode_raw, address, data_dir, session)
    if mode == "in-person" and lat is None and not (
            check.errors.keys() & {"postcode", "lat", "lon"}):
        check.fail("postcode", "Give the postcode of where it happens, or put a pin on the map")
    age_min = check.whole_number("age_min", 0, 120)
    age_max = check.whole_number("age_max", 0, 120)
    if age_min is not None and age_max is not None and age_min > age_max:
        check.fail("age_max", "is lower than the youngest age")
    gender = check.raw.get("gender") or "any"
    if gender not in GENDERS:
        check.fail("gender", f"must be one of {', '.join(GENDERS)}")
    clean_tags = _tags(check, tags)
    contact = _contact(check)
    languages = None
    try:
        languages = parse_languages(check.raw.get("languages"))
    except ValidationError as exc:
        check.fail("languages", exc.message)
    notes = check.text("notes")
    suggester_name = check.text("suggester_name")
    suggester_contact = _suggester_contact(check, consent)
    if check.errors:
        raise SuggestionInvalid(check.errors)
    assert name is not None
    if guessed:
        category = vocab.guess_category(name, description)
    fields: dict[str, Any] = {
        "name": name, "description": description, "category": category,
        "category_guessed": guessed, "mode": mode, "venue_name": venue_name,
        "address": address, "postcode": postcode, "location_approximate": approximate,
        "schedules": schedules,
        "schedule_text": describe_all(ScheduleRule.from_dict(r) for r in schedules),
        **cost, "age_min": age_min, "age_max": age_max, "gender": gender, "tags": clean_tags,
        **contact, "notes": notes, "languages": languages,
    }
    return Draft(fields, lat, lon, suggester_name, suggester_contact,
                 bool(consent and suggester_contact))


def _category(check: FieldChecker) -> tuple[str | None, bool]:
    """(category, guessed): "not sure" or none given is guessed later from the name."""
    raw_category = check.raw.get("category")
    if raw_category in (None, "", "not-sure"):
        return None, True
    category = vocab.resolve_category(raw_category) if isinstance(raw_category, str) else None
    if category is None:
        check.fail("category", "choose a kind of activity from the list")
    return category, False


def _tags(check: FieldChecker, tags: Any) -> list[str]:
    if not tags:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        check.fail("tags", "must be a list of suitability tags")
        return []
    unknown = [t for t in tags if vocab.resolve_tag(t) is None]
    if unknown:
        check.fail("tags", f"unknown suitability tag {clean_text(unknown[0])[:60]!r}; "
                           "see /api/v1/vocabulary")
        return []
    return sorted({vocab.resolve_tag(t) for t in tags})  # type: ignore[misc]


def _contact(check: FieldChecker) -> dict[str, str | None]:
    """The group's contact details, each checked by its one rule in assetmap.values."""
    contact = {"contact_name": check.text("contact_name")}
    for field, checker in (("contact_email", values.email), ("contact_phone", values.phone),
                           ("contact_url", values.url)):
        value = check.text(field)
        if value:
            try:
                value = checker(value, field)
            except ValidationError as exc:
                check.fail(field, exc.message)
                value = None
        contact[field] = value
    return contact


def _suggester_contact(check: FieldChecker, consent: bool) -> str | None:
    """How to reach the person suggesting: an e-mail or a phone, given with consent."""
    suggester_contact = check.text("suggester_contact")
    if suggester_contact:
        try:
            values.email(suggester_contact, "suggester_contact")
        except ValidationError:
            try:
                values.phone(suggester_contact, "suggester_contact")
            except ValidationError:
                check.fail("suggester_contact", "give an e-mail address or a phone number")
        if not consent:
            check.fail("contact_consent", "Tick the box if we may contact you about this "
                                          "suggestion, or leave your contact details empty")
    return suggester_contact


def locate(check: FieldChecker, postcode_raw: str | None, address: str | None, data_dir: Path,
           session: Session) -> tuple[float | None, float | None, str | None, bool]:
    """(lat, lon, postcode, approximate): a pin wins; else the postcode, typed or in the
    address."""
    lat = lon = None
    raw_lat, raw_lon = check.raw.get("lat"), check.raw.get("lon")
    has_lat = raw_lat not in (None, "")
    has_lon = raw_lon not in (None, "")
    if has_lat != has_lon:
        check.fail("lon" if has_lat else "lat",
                   "give both latitude and longitude, or put a pin on the map")
    elif has_lat:
        if isinstance(raw_lat, bool) or isinstance(raw_lon, bool):
            check.fail("lat", "must be a number")
        else:
            try:
                lat, lon = parse_lat_lon(raw_lat, raw_lon)
            except GeocodeError as exc:
                check.fail(exc.field, exc.message)
    postcode = None
    approximate = False
    if not postcode_raw and address:
        postcode_raw = find_postcode(address)
    if postcode_raw:
        try:
            postcode = normalise_postcode(postcode_raw)
            if lat is None:
                point = geocode_postcode(postcode, data_dir, session)
                lat, lon, approximate = point.lat, point.lon, point.approximate
        except GeocodeError as exc:
            check.fail("postcode", exc.message)
    return lat, lon, postcode, approximate


# -- storing -------------------------------------------------------------------------------

def _reference() -> str:
    chars = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
    return f"S-{chars[:4]}-{chars[4:]}"


def submit(session: Session, draft: Draft, *, channel: str) -> Suggestion:
    """Store a checked suggestion with a fresh reference; it waits for a coordinator."""
    reference = _reference()
    while session.scalar(select(Suggestion.id).where(Suggestion.reference == reference)):
        reference = _reference()
    suggestion = Suggestion(
        reference=reference, fields=draft.fields, lat=draft.lat, lon=draft.lon,
        suggester_name=draft.suggester_name,
        suggester_contact=draft.suggester_contact if draft.consent else None,
        contact_consent=draft.consent, channel=channel, status="pending",
        created_at=utcnow())
    session.add(suggestion)
    session.flush()
    return suggestion


def listing_fields(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What `create_activity` takes from a suggestion (venue resolved apart)."""
    out = {key: fields.get(key) for key in LISTING_KEYS}
    return {k: v for k, v in out.items() if v not in (None, "", [])}


def to_api(suggestion: Suggestion) -> dict[str, Any]:
    """What the API answers after a suggestion is accepted: no personal data echoed."""
    return {"reference": suggestion.reference, "status": suggestion.status,
            "received_at": suggestion.created_at.isoformat(),
            "name": suggestion.fields.get("name"),
            "category": suggestion.fields.get("category"),
            "schedule_text": suggestion.fields.get("schedule_text") or None}
