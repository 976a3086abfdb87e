"""schema.org mapping shared by OpenActive items and web pages' JSON-LD and microdata.

OpenActive data is schema.org with extras (activity, ageRange, genderRestriction,
accessibilitySupport), and event pages use the same Event, Place, PostalAddress, Offer and
Schedule types, so one mapping serves both; the scraper modules only unwrap their containers.
Nodes are plain dicts as decoded from JSON-LD (`@type`/`@id`, or the older `type`/`id`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from assetmap.errors import ScheduleError
from assetmap.schedule import LONDON, ScheduleRule
from assetmap.values import find_postcode
from assetmap.vocab import category_for_openactive, guess_category
from scrapers.normalise import (
    Cost,
    absolute,
    accessibility,
    age_from_text,
    age_range,
    clean,
    coordinates,
    cost_from_prices,
    day_code,
    duration_from_schedule,
    gender_restriction,
    join_parts,
    looks_like_coordinates,
    normalise_postcode,
    parse_date,
    parse_datetime,
    parse_duration,
    parse_modified,
    parse_time,
    plain,
    recurrence,
    tags_from_flags,
    to_london,
    without_postcode,
)
from scrapers.records import ActivityRecord, ContactRecord, Flags, OrganisationRecord, VenueRecord

# Types whose startDate/endDate bound a run of sessions rather than being one session.
SERIES_TYPES = frozenset({"SessionSeries", "EventSeries", "CourseInstance", "Course",
                          "FacilityUse", "IndividualFacilityUse"})
EVENT_TYPES = frozenset({
    "Event", "ScheduledSession", "HeadlineEvent", "OnDemandEvent", "BusinessEvent",
    "ChildrensEvent", "ComedyEvent", "DanceEvent", "DeliveryEvent", "EducationEvent",
    "ExhibitionEvent", "Festival", "FoodEvent", "Hackathon", "LiteraryEvent", "MusicEvent",
    "PublicationEvent", "SaleEvent", "ScreeningEvent", "SocialEvent", "SportsEvent",
    "TheaterEvent", "VisualArtsEvent", "CourseInstance", "EventSeries", "SessionSeries",
})


def types(node: Any) -> set[str]:
    """Bare type names: "Event" from "Event", "schema:Event" or "http://schema.org/Event"."""
    if not isinstance(node, dict):
        return set()
    raw = node.get("@type", node.get("type"))
    return {re.split(r"[/#:]", str(t).strip())[-1] for t in as_list(raw) if t}


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def node_id(node: Any) -> str | None:
    if isinstance(node, dict):
        value = node.get("@id", node.get("id"))
        return clean(value) if isinstance(value, str | int) else None
    return None


def text(value: Any) -> str | None:
    """Text from a string, number, {"@value": ...}, {"name": ...} or the first of a list."""
    if isinstance(value, list):
        return next((t for t in (text(v) for v in value) if t), None)
    if isinstance(value, dict):
        return text(value.get("@value", value.get("name")))
    return clean(value)


def _url(value: Any, base_url: str | None) -> str | None:
    return absolute(base_url, text(value if not isinstance(value, dict)
                                   else value.get("url") or node_id(value)))


def _minute(moment: time) -> time:
    return time(moment.hour, moment.minute)


# -- places and organisations --------------------------------------------------------------

def postal_address(address: Any) -> tuple[str | None, str | None]:
    """(address text without the postcode, UK postcode) from a PostalAddress or a string."""
    if isinstance(address, dict):
        raw_postcode = text(address.get("postalCode"))
        postcode = normalise_postcode(raw_postcode)
        return join_parts(text(address.get("streetAddress")), text(address.get("addressLocality")),
                          text(address.get("addressRegion")),
                          raw_postcode if postcode is None else None), postcode
    words = text(address)
    return without_postcode(words), find_postcode(words)


def venue_from_place(place: Any, *, source_type: str, base_url: str | None) -> VenueRecord | None:
    """A venue from a Place (or a place given as plain text); None if it says nothing useful."""
    if isinstance(place, list):
        return next((v for v in (venue_from_place(p, source_type=source_type,
                                                  base_url=base_url) for p in place) if v), None)
    if isinstance(place, str):
        words = clean(place)
        return VenueRecord(source_type, address=without_postcode(words),
                           postcode=find_postcode(words)) if words else None
    if not isinstance(place, dict) or "VirtualLocation" in types(place):
        return None
    name = text(place.get("name"))
    if looks_like_coordinates(name):
        name = None
    address, postcode = postal_address(place.get("address"))
    geo: dict = place["geo"] if isinstance(place.get("geo"), dict) else place
    point = coordinates(geo.get("latitude"), geo.get("longitude"))
    features = [text(f.get("name")) for f in as_list(place.get("amenityFeature"))
                if isinstance(f, dict) and f.get("value") not in (False, "false", "False")]
    _, flags = accessibility(*features)
    if not (name or address or postcode or point):
        return None
    identifier = place.get("identifier")
    return VenueRecord(
        source_type,
        external_id=clean(identifier) if isinstance(identifier, str | int) else node_id(place),
        name=name, address=address, postcode=postcode,
        lat=point[0] if point else None, lon=point[1] if point else None,
        accessibility=Flags(flags), website=_url(place.get("url"), base_url),
        phone=text(place.get("telephone")), email=text(place.get("email")))


def organisation_from(node: Any, *, base_url: str | None) -> OrganisationRecord | None:
    for candidate in as_list(node):
        if isinstance(candidate, dict) and text(candidate.get("name")):
            return OrganisationRecord(
                name=text(candidate.get("name")) or "",
                url=_url(candidate.get("url"), base_url),
                email=text(candidate.get("email")), phone=text(candidate.get("telephone")))
    return None


# -- cost, people --------------------------------------------------------------------------

def _child_only(offer: dict) -> bool:
    age = offer.get("ageRange")
    high = age.get("maxValue") if isinstance(age, dict) else None
    try:
        return high is not None and float(high) < 18
    except (TypeError, ValueError):
        return False


def offers_cost(node: dict) -> Cost:
    """Cost from `offers` and `isAccessibleForFree`; children's prices count only if alone."""
    offers = [o for o in as_list(node.get("offers")) if isinstance(o, dict)]
    adult = [o for o in offers if not _child_only(o)] or offers
    prices = [(o.get("price", o.get("lowPrice")), text(o.get("priceCurrency")),
               text(o.get("name"))) for o in adult]
    free = node.get("isAccessibleForFree") in (True, "true", "True")
    return cost_from_prices(prices, free=free)


def ages(node: dict) -> tuple[int | None, int | None, frozenset[str]]:
    age = node.get("ageRange")
    if isinstance(age, dict):
        return age_range(age.get("minValue"), age.get("maxValue"))
    low, high = age_from_text(age if age is not None else node.get("typicalAgeRange"))
    return age_range(low, high)


def category_from(node: dict, name: str | None, description: str | None) -> str:
    """Category from OpenActive activity concepts, else guessed from the name, then the text.

    The name is tried alone first: long descriptions mention many things ("bring a packed
    lunch") and would mislead a keyword guess.
    """
    labels: list[str] = []
    for concept in as_list(node.get("activity")):
        keys = [node_id(concept), text(concept.get("prefLabel"))] if isinstance(
            concept, dict) else [clean(concept)]
        for key in keys:
            if key:
                labels.append(key)
                found = category_for_openactive(key)
                if found:
                    return found
    guess = guess_category(name)
    if guess != "other":
        return guess
    extra = [text(c) for c in as_list(node.get("category")) + as_list(node.get("keywords"))]
    return guess_category(name, *labels, *extra, description)


# -- schedules -----------------------------------------------------------------------------

def _ints(value: Any) -> list[int]:
    found = []
    for item in as_list(value):
        try:
            found.append(int(item))
        except (TypeError, ValueError):
            continue
    return found


def schedule_rules(node: dict, notes: list[str]) -> list[ScheduleRule]:
    """Rules from `eventSchedule` (Schedule / PartialSchedule); unusable ones go to notes."""
    series_from, series_to = parse_date(node.get("startDate")), parse_date(node.get("endDate"))
    rules: list[ScheduleRule] = []
    for schedule in as_list(node.get("eventSchedule")):
        if not isinstance(schedule, dict):
            continue
        try:
            rules.extend(_schedule(schedule, series_from, series_to, notes))
        except (ScheduleError, ValueError) as exc:
            notes.append(f"schedule not used: {exc}")
    return rules


def _schedule(schedule: dict, series_from: date | None, series_to: date | None,
              notes: list[str]) -> tuple[ScheduleRule, ...]:
    repeat = duration_from_schedule(schedule.get("repeatFrequency"))
    freq, interval = repeat if repeat else (None, 1)
    valid_from = parse_date(schedule.get("startDate")) or series_from
    valid_to = parse_date(schedule.get("endDate")) or series_to
    start = parse_time(schedule.get("startTime"), on=valid_from)
    end = parse_time(schedule.get("endTime"), on=valid_from)
    length = parse_duration(schedule.get("duration"))
    if start and not end and length and length < timedelta(days=1):
        end = _minute((datetime.combine(date.today(), start) + length).time())
    tz = text(schedule.get("scheduleTimezone") or schedule.get("beta:timeZone"))
    if tz and tz != "Europe/London":
        notes.append(f"schedule times are in {tz}; read as London times")
    byday = [str(d) for d in as_list(schedule.get("byDay")) if d]
    if not byday and freq in (None, "WEEKLY") and valid_from:
        code = day_code(valid_from.strftime("%A"))
        byday = [code] if code else []
    if freq is None and not byday:
        raise ScheduleError("a schedule without repeatFrequency or byDay")
    excepted = [parse_datetime(d) for d in as_list(schedule.get("exceptDate"))]
    except_dates = [to_london(d).date() if isinstance(d, datetime) else d
                    for d in excepted if d is not None]
    count = _ints(schedule.get("repeatCount"))
    return recurrence(
        freq=freq, byday=byday, interval=interval, start_time=start, end_time=end,
        valid_from=valid_from, valid_to=valid_to, except_dates=except_dates,
        count=count[0] if count and not schedule.get("endDate") else None,
        bymonthday=_ints(schedule.get("byMonthDay")),
        week_of_month=_ints(schedule.get("byMonthWeek")))


def session_rule(start_value: Any, end_value: Any = None, duration: Any = None, *,
                 floating: Any = LONDON) -> ScheduleRule | None:
    """A one-off session from a start (and end or duration), in London wall-clock time."""
    start = parse_datetime(start_value)
    if start is None:
        return None
    if not isinstance(start, datetime):
        return ScheduleRule("once", on_date=start)
    local = to_london(start, floating=floating)
    end = parse_datetime(end_value)
    finish: datetime | None = None
    if isinstance(end, datetime):
        finish = to_london(end, floating=floating)
    elif (length := parse_duration(duration)) is not None:
        finish = local + length
    end_time = None
    if finish is not None and finish > local and finish - local < timedelta(days=1):
        end_time = _minute(finish.time())
    return ScheduleRule("once", _minute(local.time()), end_time, on_date=local.date())


def sub_event_rules(node: dict) -> list[ScheduleRule]:
    rules = []
    for sub in as_list(node.get("subEvent")):
        if isinstance(sub, dict):
            rule = session_rule(sub.get("startDate"), sub.get("endDate"), sub.get("duration"))
            if rule:
                rules.append(rule)
    return rules


def _is_single_session(node: dict) -> bool:
    found = types(node)
    if found & SERIES_TYPES:
        start = parse_datetime(node.get("startDate"))
        return isinstance(start, datetime) and not node.get("endDate")
    return True


def all_rules(node: dict, notes: list[str]) -> tuple[ScheduleRule, ...]:
    """eventSchedule rules, else sub-events, else the node's own date when it is a session."""
    rules = schedule_rules(node, notes) or sub_event_rules(node)
    if not rules and _is_single_session(node):
        rule = session_rule(node.get("startDate"), node.get("endDate"), node.get("duration"))
        if rule:
            rules.append(rule)
    return tuple(dict.fromkeys(rules))


# -- the event ------------------------------------------------------------------------------

def _term(value: Any) -> str:
    """"EventCancelled" from "https://schema.org/EventCancelled" or "schema:EventCancelled"."""
    return re.split(r"[/#:]", text(value) or "")[-1]


def _support_labels(node: dict) -> list[str]:
    return [t for t in (text(c.get("prefLabel")) if isinstance(c, dict) else clean(c)
                        for c in as_list(node.get("accessibilitySupport"))) if t]


def _attendance(node: dict, venue: VenueRecord | None) -> tuple[bool, frozenset[str]]:
    """(online only, tags). Events without a mode but with only a virtual place are online."""
    mode = _term(node.get("eventAttendanceMode"))
    virtual = any("VirtualLocation" in types(p) for p in as_list(node.get("location")))
    if mode.startswith("Online") or "OnDemandEvent" in types(node) or (
            not mode and virtual and venue is None):
        return True, frozenset({"online-option"})
    if mode.startswith("Mixed") or virtual or node.get("beta:virtualLocation"):
        return False, frozenset({"online-option"})
    return False, frozenset()


def activity_from_event(node: dict, *, source_type: str, external_id: str,
                        base_url: str | None, notes: list[str],
                        raw_kind: str | None = None,
                        modified: datetime | None = None) -> ActivityRecord:
    """An `ActivityRecord` from a schema.org / OpenActive event-like node.

    Raises ValueError when the node cannot be an activity (no name); schedule parts that
    cannot be represented are left out and described in `notes`.
    """
    name = plain(node.get("name"))
    description = plain(node.get("description")) or plain(node.get("disambiguatingDescription"))
    super_event = node.get("superEvent")
    if not name and not isinstance(super_event, str):  # a session may take its series' name
        raise ValueError("no name")
    status = _term(node.get("eventStatus"))
    venue = venue_from_place(node.get("location"), source_type=source_type, base_url=base_url)
    online, online_tags = _attendance(node, venue)
    organisation = organisation_from(node.get("organizer"), base_url=base_url) or \
        organisation_from(node.get("provider"), base_url=base_url)
    cost = offers_cost(node)
    age_min, age_max, age_tags = ages(node)
    gender, gender_tags = gender_restriction(as_list(node.get("genderRestriction")))
    access_tags, _ = accessibility(*_support_labels(node))
    if venue is not None:
        access_tags |= tags_from_flags(venue.accessibility)
    source_url = _url(node.get("url"), base_url) or _url(node_id(node), base_url) or base_url
    contact_email = organisation.email if organisation else None
    contact_phone = (organisation.phone if organisation else None) or (
        venue.phone if venue else None)
    return ActivityRecord(
        source_type=source_type, external_id=external_id, name=name or "",
        source_url=source_url, description=description,
        category=category_from(node, name, description),
        schedules=all_rules(node, notes), venue=venue, organisation=organisation,
        cost_kind=cost.kind, cost_amount=cost.amount, cost_text=cost.text,
        tags=_tags(cost, age_tags, gender_tags, access_tags, online_tags),
        age_min=age_min, age_max=age_max, gender=gender,
        contact=ContactRecord(contact_email, contact_phone, source_url)
        if (contact_email or contact_phone or source_url) else None,
        deleted=status == "EventCancelled",
        modified=parse_modified(node.get("dateModified")) or modified,
        online=online, raw_kind=raw_kind or next(iter(sorted(types(node))), None),
        uri=_url(node_id(node), base_url),
        part_of=_url(super_event, base_url) if isinstance(super_event, str) else None)


def _tags(cost: Cost, *groups: Iterable[str]) -> frozenset[str]:
    found: set[str] = {"free"} if cost.kind == "free" else set()
    for group in groups:
        found.update(group)
    return frozenset(found)
