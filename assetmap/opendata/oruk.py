"""Listings as Open Referral UK (HSDS 3 UK profile) services, for other directories and the NHS.

What leaves the server here is public only: no verification notes, no connector judgements,
no assignments; `assured_date` is the date of the last check, never who made it or how.

Identifiers. The profile wants UUIDs. AssetMap's ids are integers, so each is written as a
UUID whose first 20 hex digits are fixed for the deployment (a hash of PUBLIC_URL and the kind
of thing: service, location...) and whose last 12 are the integer, in hex (a version 8, i.e.
"custom", UUID). They are stable, differ between deployments and kinds, and turn back into the
integer without a lookup table. Vocabulary terms get name-based (version 5) UUIDs.

Statuses: active -> "active", paused -> "temporarily closed", ended -> "defunct" (kept, so
consumers asking for `modified_after` learn that a service ended); pending listings (not yet
approved) are not published.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from assetmap import values, vocab
from assetmap.errors import NotFound, ValidationError
from assetmap.models import Activity, Organisation, Venue
from assetmap.params import as_id, datetime_param
from assetmap.places.area_index import ANYWHERE, area_names
from assetmap.referral.languages import LANGUAGES
from assetmap.schedule import LONDON, ScheduleRule, describe, occurrences
from assetmap.spatial import lat_of, lon_of

STATUSES: Mapping[str, str] = {"active": "active", "paused": "temporarily closed",
                               "ended": "defunct"}
PROFILE_URL = "https://openreferraluk.org/"
CATEGORY_TAXONOMY = "AssetMap activity categories"
TAG_TAXONOMY = "AssetMap suitability"
#: An ONS Government Statistical Service code (E05000137, E09000007, W05000001...).
GSS_CODE = re.compile(r"^[EKLMNSW]\d{8}$")


# -- identifiers ---------------------------------------------------------------------------

def _prefix(public_url: str, kind: str) -> str:
    digest = hashlib.sha256(f"{public_url.rstrip('/')}|{kind}".encode()).hexdigest()
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"{digest[:8]}-{digest[8:12]}-8{digest[13:16]}-{variant}{digest[17:20]}-"


def entity_id(public_url: str, kind: str, number: int) -> str:
    """The UUID of AssetMap's `kind` number `number` (see the module notes)."""
    return f"{_prefix(public_url, kind)}{number:012x}"


def entity_number(public_url: str, kind: str, raw: str) -> int | None:
    """The integer a `kind` id stands for (a UUID from `entity_id`, or a plain integer), or
    None when it stands for nothing AssetMap could hold."""
    raw = raw.strip().lower()
    if raw.isascii() and raw.isdigit():
        return as_id(raw)  # the one id check: no 5,000-digit number reaches int()
    prefix = _prefix(public_url, kind)
    if raw.startswith(prefix) and len(raw) == len(prefix) + 12:
        try:
            return as_id(int(raw[len(prefix):], 16))
        except ValueError:
            return None
    return None


def service_number(public_url: str, raw: str) -> int:
    """The listing id a service id stands for (a UUID from `entity_id`, or a plain integer)."""
    number = entity_number(public_url, "service", raw)
    if number is None:
        raise NotFound(f"there is no service with id {raw.strip()!r}")
    return number


def term_id(taxonomy: str, term: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:assetmap:{taxonomy}:{term}"))


def taxonomy_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:assetmap:taxonomy:{name}"))


# -- queries -------------------------------------------------------------------------------

def _published() -> Select:
    return (select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
            .outerjoin(Venue, Venue.id == Activity.venue_id)
            .outerjoin(Organisation, Organisation.id == Activity.organisation_id)
            .where(Activity.status.in_(tuple(STATUSES))))


def parse_modified_after(raw: str | None) -> datetime | None:
    if not raw or not raw.strip():
        return None
    return datetime_param(raw, "modified_after", example="date-time such as 2026-01-05T09:50:00Z")


def service_detail(session: Session, config: Mapping, raw_id: str) -> dict[str, Any]:
    """One fully nested service."""
    number = service_number(config["PUBLIC_URL"], raw_id)
    row = session.execute(_published().where(Activity.id == number).options(
        selectinload(Activity.organisation), selectinload(Activity.venue),
        selectinload(Activity.schedule_rows), selectinload(Activity.tag_rows))).first()
    if row is None:
        raise NotFound(f"there is no published service with id {raw_id!r}")
    activity, lat, lon = row
    return service_full(activity, lat, lon, config,
                        area_names(session, activity.service_area or ()))


# -- mapping -------------------------------------------------------------------------------

def _ms(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{moment.microsecond // 1000:03d}Z")


def last_modified(activity: Activity) -> datetime:
    """The latest change to the service or anything nested in it."""
    moments = [activity.updated_at, activity.last_verified_at,
               activity.venue.updated_at if activity.venue else None,
               activity.organisation.updated_at if activity.organisation else None]
    return max(m for m in moments if m is not None)


def url_or_none(value: str | None) -> str | None:
    """A stored address only if it passes the one check every way in uses (older data may
    not have)."""
    try:
        return values.url(value, "url") if value and "://" in value else None
    except ValidationError:
        return None


def email_or_none(value: str | None) -> str | None:
    try:
        return values.email(value, "email") if value else None
    except ValidationError:
        return None


def _organisation(activity: Activity, base: str) -> dict[str, Any] | None:
    org = activity.organisation
    if org is None:
        return None
    data: dict[str, Any] = {"id": entity_id(base, "organization", org.id), "name": org.name,
                            "description": ""}
    if email_or_none(org.email):
        data["email"] = email_or_none(org.email)
    if url_or_none(org.url):
        data["website"] = url_or_none(org.url)
    return data


def service_summary(activity: Activity, config: Mapping) -> dict[str, Any]:
    """The service's one-to-one fields (the profile's service_list item)."""
    base = config["PUBLIC_URL"].rstrip("/")
    data: dict[str, Any] = {
        "id": entity_id(base, "service", activity.id),
        "name": activity.name,
        "description": activity.description or "",
        "url": url_or_none(activity.contact_url) or f"{base}/activities/{activity.id}",
        "status": STATUSES[activity.status],
        "last_modified": _ms(last_modified(activity)),
    }
    if email_or_none(activity.contact_email):
        data["email"] = email_or_none(activity.contact_email)
    if activity.age_min is not None:
        data["minimum_age"] = activity.age_min
    if activity.age_max is not None:
        data["maximum_age"] = activity.age_max
    if activity.last_verified_at is not None:
        data["assured_date"] = activity.last_verified_at.astimezone(LONDON).date().isoformat()
    organisation = _organisation(activity, base)
    if organisation is not None:
        data["organization_id"] = organisation["id"]
        data["organization"] = organisation
    return data


def service_full(activity: Activity, lat: float | None, lon: float | None,
                 config: Mapping, names: Mapping[str, str]) -> dict[str, Any]:
    """The fully nested service (the profile's service); `names` gives the names of the
    areas its service area lists (`area_names`)."""
    base = config["PUBLIC_URL"].rstrip("/")
    data = service_summary(activity, config)
    service_id = data["id"]
    data["schedules"] = [_schedule(row.id, ScheduleRule.from_dict(row.rule), activity, base,
                                   service_id) for row in activity.schedule_rows]
    data["service_at_locations"] = locations(activity, lat, lon, base, service_id)
    data["cost_options"] = _costs(activity, base, service_id)
    data["attributes"] = _attributes(activity, base, service_id)
    if activity.contact_phone:
        data["phones"] = [{"id": entity_id(base, "phone", activity.id),
                           "number": activity.contact_phone}]
    if activity.languages:
        data["languages"] = [
            {"id": entity_id(base, "language", activity.id * 64 + position),
             "service_id": service_id, "name": LANGUAGES.get(code, code), "code": code}
            for position, code in enumerate(activity.languages[:64]) if code != "und"]
    if activity.service_area:
        data["service_areas"] = _service_areas(activity, names, base, service_id)
    if activity.contact_name:
        data["contacts"] = [{"id": entity_id(base, "contact", activity.id),
                             "service_id": service_id, "name": activity.contact_name}]
    return data


def _service_areas(activity: Activity, names: Mapping[str, str], base: str,
                   service_id: str) -> list[dict[str, Any]]:
    """Where a phone or online service is available: each area by name, with the ONS's
    persistent URI for a GSS code (E05… wards, E09… boroughs)."""
    areas = []
    for position, code in enumerate((activity.service_area or [])[:64]):
        name = "Anywhere" if code == ANYWHERE else names.get(code, code)
        area = {"id": entity_id(base, "service_area", activity.id * 64 + position),
                "service_id": service_id, "name": name, "service_area": name}
        if GSS_CODE.match(code):
            area["uri"] = f"http://statistics.data.gov.uk/id/statistical-geography/{code}"
        areas.append(area)
    return areas


def _time(value: Any) -> str | None:
    return value.strftime("%H:%M:%S") if value else None


def _first_date(rule: ScheduleRule, after: date) -> date | None:
    """The first session on or after `after`: a dtstart that keeps every-other-week parity."""
    start = datetime.combine(after, datetime.min.time(), tzinfo=LONDON)
    found = occurrences([rule], start, start + timedelta(weeks=rule.interval + 1))
    return found[0].start.date() if found else None


def _schedule(number: int, rule: ScheduleRule, activity: Activity, base: str,
              service_id: str) -> dict[str, Any]:
    row: dict[str, Any] = {"id": entity_id(base, "schedule", number), "service_id": service_id,
                           "description": describe(rule), "attending_type": activity.mode}
    if rule.kind == "once":
        assert rule.on_date is not None
        day = rule.on_date.isoformat()
        row |= {"valid_from": day, "valid_to": day, "dtstart": day}
    elif rule.kind == "monthly" and rule.positions:
        row |= {"freq": "MONTHLY", "interval": rule.interval,
                "byday": ",".join(f"{p}{d}" for p in rule.positions for d in rule.days)}
    else:  # weekly, daily, and monthly on every such weekday (which is weekly)
        days = rule.days or ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
        row |= {"freq": "WEEKLY", "interval": rule.interval if rule.kind == "weekly" else 1,
                "byday": ",".join(days)}
    if rule.kind != "once":
        if rule.valid_from:
            row["valid_from"] = rule.valid_from.isoformat()
        if rule.valid_to:
            row["valid_to"] = rule.valid_to.isoformat()
        if rule.interval > 1:
            first = rule.valid_from or _first_date(rule, activity.created_at.date())
            if first:
                row["dtstart"] = first.isoformat()
    if rule.start_time:
        row["opens_at"] = _time(rule.start_time)
    if rule.end_time:
        row["closes_at"] = _time(rule.end_time)
    if rule.except_dates:
        row["notes"] = "Not on " + ", ".join(d.isoformat() for d in rule.except_dates)
    return row


def locations(activity: Activity, lat: float | None, lon: float | None, base: str,
               service_id: str) -> list[dict[str, Any]]:
    venue = activity.venue
    if venue is None or lat is None or lon is None:
        if activity.mode != "online":
            return []
        location: dict[str, Any] = {"id": entity_id(base, "online", activity.id),
                                    "location_type": "virtual", "name": "Online"}
        return [{"id": entity_id(base, "service_at_location", activity.id),
                 "service_id": service_id, "location_id": location["id"],
                 "location": location}]
    location_id = entity_id(base, "location", venue.id)
    location = {"id": location_id, "location_type": "physical", "name": venue.name,
                "latitude": round(lat, 7), "longitude": round(lon, 7)}
    if venue.osm_ref:
        location |= {"external_identifier": venue.osm_ref,
                     "external_identifier_type": "OpenStreetMap"}
    if venue.address or venue.postcode:
        parts = [p.strip() for p in (venue.address or "").split(",") if p.strip()]
        street, city = (", ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (
            parts[0] if parts else venue.name, "")
        location["addresses"] = [{
            "id": entity_id(base, "address", venue.id), "location_id": location_id,
            "address_1": street, "city": city, "state_province": "",
            "postal_code": venue.postcode or "", "country": "GB", "address_type": "physical"}]
    access = _accessibility(venue)
    if access:
        location["accessibility"] = [{"id": entity_id(base, "accessibility", venue.id),
                                      "location_id": location_id, "description": access}]
    return [{"id": entity_id(base, "service_at_location", activity.id),
             "service_id": service_id, "location_id": location_id, "location": location}]


def _accessibility(venue: Venue) -> str:
    facts = []
    if venue.step_free:
        facts.append("Step-free access")
    elif venue.step_free is False:
        facts.append("Not step-free")
    if venue.accessible_toilet:
        facts.append("accessible toilet")
    if venue.hearing_loop:
        facts.append("hearing loop")
    if venue.wheelchair in ("yes", "limited", "no"):
        facts.append({"yes": "wheelchair accessible", "limited": "partly wheelchair accessible",
                      "no": "not wheelchair accessible"}[venue.wheelchair])
    text = ", ".join(facts)
    return text[:1].upper() + text[1:] + "." if text else ""


def _costs(activity: Activity, base: str, service_id: str) -> list[dict[str, Any]]:
    option: dict[str, Any] = {"id": entity_id(base, "cost_option", activity.id),
                              "service_id": service_id}
    if activity.cost_kind == "free":
        return [option | {"option": "Free", "amount": 0, "currency": "GBP"}]
    if activity.cost_kind == "amount" and activity.cost_amount is not None:
        option |= {"amount": float(activity.cost_amount), "currency": "GBP"}
        if activity.cost_text:
            option["amount_description"] = activity.cost_text
        return [option]
    if activity.cost_kind == "small-fee":
        return [option | {"option": "Small fee",
                          "amount_description": activity.cost_text or "A small fee"}]
    return []


def _attributes(activity: Activity, base: str, service_id: str) -> list[dict[str, Any]]:
    terms = [(CATEGORY_TAXONOMY, activity.category,
              vocab.CATEGORY_LABELS.get(activity.category, activity.category))]
    terms += [(TAG_TAXONOMY, tag, vocab.TAG_LABELS.get(tag, tag)) for tag in activity.tags]
    out = []
    concepts = {t.id: t.openactive for t in vocab.CATEGORIES}
    for taxonomy, term, label in terms:
        tid = term_id(taxonomy, term)
        taxonomy_term: dict[str, Any] = {"id": tid, "name": label, "description": label,
                                         "taxonomy": taxonomy, "term": term,
                                         "taxonomy_id": taxonomy_id(taxonomy)}
        if taxonomy == CATEGORY_TAXONOMY and concepts.get(term):
            taxonomy_term["term_uri"] = concepts[term][0]
        out.append({"id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                          f"{base}|attribute|{activity.id}|{taxonomy}|{term}")),
                    "link_id": service_id, "link_type": "service", "taxonomy_term_id": tid,
                    "taxonomy_term": taxonomy_term})
    return out
