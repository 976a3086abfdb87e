"""AssetMap's activities as an OpenActive RPDE feed of SessionSeries, and its dataset site.

Realtime Paged Data Exchange (https://openactive.io/realtime-paged-data-exchange/):
- items are ordered by `modified` then `id`; `modified` is the latest change to the listing,
  its venue or its organiser, in whole milliseconds since 1970 (computed in SQL, so the order
  and the `afterTimestamp`/`afterId` filter always agree with the numbers published);
- a listing OpenActive cannot carry (see `publishable`: ended, paused or pending; by phone;
  no Activity List activity, such as a lunch club; no known price) is a `"state": "deleted"`
  tombstone carrying only its id, kind and modified, so consumers drop it (it comes back as
  an update when it qualifies again);
- every page has `next` (the position after its last item); the last page is empty and its
  `next` is its own URL, where a consumer polls from; every page states the licence.

Each listing's repeating schedules become `eventSchedule`s; dated one-off sessions become
`subEvent` ScheduledSessions (and, when a listing also repeats, a one-day Schedule, so one
schedule list describes everything).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.expression import FunctionElement

from assetmap import vocab
from assetmap.errors import ValidationError
from assetmap.freshness.queue import venue_in_area
from assetmap.models import Activity, Area, Organisation, Venue
from assetmap.opendata import oruk
from assetmap.params import ID_MAX, int_param
from assetmap.schedule import DAY_NAMES, INTERVAL_ANCHOR, LONDON, ScheduleRule
from assetmap.spatial import lat_of, lon_of

KIND = "SessionSeries"
PUBLISHED = ("active",)
DEFAULT_LICENSE = "https://creativecommons.org/licenses/by/4.0/"
DEFAULT_PAGE_SIZE = 500
CONTEXT = ["https://openactive.io/", "https://openactive.io/ns-beta"]
ACTIVITY_LIST = "https://openactive.io/activity-list"
MAX_MODIFIED = 2**53 - 1  # the largest integer every JSON reader keeps exactly
CONCEPTS: dict[str, tuple[str, ...]] = {t.id: t.openactive for t in vocab.CATEGORIES
                                        if t.openactive}


class epoch_ms(FunctionElement):  # noqa: N801 - reads like the SQL it stands for
    """Whole milliseconds since 1970 of the latest of some UTC timestamps (NULLs ignored)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_ms, "postgresql")
def _epoch_ms_pg(element, compiler, **kw) -> str:
    args = compiler.process(element.clauses, **kw)
    return (f"CAST(FLOOR(EXTRACT(EPOCH FROM GREATEST({args})) * 1000) AS BIGINT)")


@compiles(epoch_ms, "sqlite")
def _epoch_ms_sqlite(element, compiler, **kw) -> str:
    # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: exact integer arithmetic, no float.
    first, *rest = list(element.clauses)
    first_sql = compiler.process(first, **kw)
    latest = "MAX(" + ", ".join([first_sql] + [f"COALESCE({compiler.process(c, **kw)}, "
                                               f"{first_sql})" for c in rest]) + ")"
    return (f"(CAST(strftime('%s', {latest}) AS INTEGER) * 1000 + "
            f"CAST(substr({latest}, 21, 3) AS INTEGER))")


def _modified():
    return epoch_ms(Activity.updated_at, Venue.updated_at, Organisation.updated_at)


def feed_position(args: Mapping[str, str]) -> tuple[int | None, int | None]:
    """`afterTimestamp` and `afterId` (both or neither), checked."""
    raw_ts, raw_id = args.get("afterTimestamp"), args.get("afterId")
    if not (raw_ts or raw_id):
        return None, None
    if not raw_ts:
        raise ValidationError("afterTimestamp", "give afterTimestamp with afterId")
    if not raw_id:
        raise ValidationError("afterId", "give afterId with afterTimestamp")
    return (int_param(raw_ts, "afterTimestamp", default=0, low=0, high=MAX_MODIFIED),
            int_param(raw_id, "afterId", default=0, low=0, high=ID_MAX))


def feed_page(session: Session, config: Mapping, args: Mapping[str, str], *,
              feed_url: str) -> dict[str, Any]:
    """One RPDE page after the position in `args`; `feed_url` is the feed's own address."""
    after_ts, after_id = feed_position(args)
    size = int(config.get("OPENACTIVE_PAGE_SIZE") or DEFAULT_PAGE_SIZE)
    modified = _modified().label("modified")
    stmt = (select(Activity, modified, lat_of(Venue.geom), lon_of(Venue.geom))
            .outerjoin(Venue, Venue.id == Activity.venue_id)
            .outerjoin(Organisation, Organisation.id == Activity.organisation_id))
    if after_ts is not None:
        stmt = stmt.where(or_(_modified() > after_ts,
                              and_(_modified() == after_ts, Activity.id > after_id)))
    rows = session.execute(stmt.order_by(modified, Activity.id).limit(size).options(
        selectinload(Activity.organisation), selectinload(Activity.venue),
        selectinload(Activity.schedule_rows), selectinload(Activity.tag_rows))).all()
    base = config["PUBLIC_URL"].rstrip("/")
    regions = boroughs(session, {a.venue_id for a, *_rest in rows if a.venue_id})
    items = [_item(activity, int(ms), lat, lon, base, regions)
             for activity, ms, lat, lon in rows]
    if items:
        last = items[-1]
        next_url = f"{feed_url}?afterTimestamp={last['modified']}&afterId={last['id']}"
    else:
        next_url = feed_url + (f"?afterTimestamp={after_ts}&afterId={after_id}"
                               if after_ts is not None else "")
    return {"next": next_url, "items": items,
            "license": config.get("OPEN_DATA_LICENSE") or DEFAULT_LICENSE}


def publishable(activity: Activity, *, located: bool) -> bool:
    """What OpenActive can describe completely: an active listing with an Activity List
    activity, a known price (free or an amount), and a venue or an online place. The rest
    are in the Open Referral UK API only."""
    return (activity.status in PUBLISHED and activity.mode != "phone"
            and activity.category in CONCEPTS
            and (activity.cost_kind == "free" or (activity.cost_kind == "amount"
                                                  and activity.cost_amount is not None))
            and (located or activity.mode == "online"))


def boroughs(session: Session, venue_ids: set[int]) -> dict[int, str]:
    """The borough each venue lies in (OpenActive addresses need a region)."""
    if not venue_ids:
        return {}
    return dict(session.execute(
        select(Venue.id, Area.name).join(Area, venue_in_area(Venue.geom, Area.geom))
        .where(Area.kind == "borough", Venue.id.in_(sorted(venue_ids)))).tuples().all())


def _item(activity: Activity, modified: int, lat: float | None, lon: float | None,
          base: str, regions: Mapping[int, str]) -> dict[str, Any]:
    item: dict[str, Any] = {"state": "updated", "kind": KIND, "id": activity.id,
                            "modified": modified}
    if not publishable(activity, located=lat is not None and activity.venue is not None):
        item["state"] = "deleted"
        return item
    item["data"] = session_series(activity, lat, lon, base,
                                  region=regions.get(activity.venue_id or 0))
    return item


def series_id(base: str, number: int) -> str:
    return f"{base}/openactive/session-series/{number}"


def session_series(activity: Activity, lat: float | None, lon: float | None,
                   base: str, *, region: str | None = None) -> dict[str, Any]:
    """One listing as an OpenActive SessionSeries (Modelling Specification 2.0)."""
    page = f"{base}/activities/{activity.id}"
    data: dict[str, Any] = {
        "@context": CONTEXT, "@type": KIND, "@id": series_id(base, activity.id),
        "identifier": activity.id, "name": activity.name,
        "url": oruk.url_or_none(activity.contact_url) or page,
        "activity": [_concept(activity.category, base)],
        "organizer": _organizer(activity, base),
        "eventStatus": "https://schema.org/EventScheduled",
    }
    if activity.description:
        data["description"] = activity.description
    if activity.mode == "online":
        data["eventAttendanceMode"] = "https://schema.org/OnlineEventAttendanceMode"
        data["location"] = {"@type": "VirtualLocation", "name": "Online",
                            "url": data["url"]}
    else:
        data["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
        data["location"] = _place(activity, lat, lon, base, region)
    offers = _offers(activity, page)
    if offers:
        data["offers"] = offers
    if activity.cost_kind == "free":
        data["isAccessibleForFree"] = True
    if activity.age_min is not None or activity.age_max is not None:
        age: dict[str, Any] = {"@type": "QuantitativeValue"}
        if activity.age_min is not None:
            age["minValue"] = activity.age_min
        if activity.age_max is not None:
            age["maxValue"] = activity.age_max
        data["ageRange"] = age
    gender = activity.gender
    if gender == "any" and "women-only" in activity.tags:
        gender = "female"
    elif gender == "any" and "men-only" in activity.tags:
        gender = "male"
    data["genderRestriction"] = {"male": "https://openactive.io/MaleOnly",
                                 "female": "https://openactive.io/FemaleOnly"}.get(
        gender, "https://openactive.io/NoRestriction")
    support = [vocab.TAG_LABELS[t] for t in activity.tags if t in ACCESS_TAGS]
    if support:
        data["accessibilitySupport"] = [
            {"@type": "Concept", "@id": _term_url(base, oruk.TAG_TAXONOMY, tag),
             "prefLabel": vocab.TAG_LABELS[tag],
             "inScheme": _scheme_url(base, oruk.TAG_TAXONOMY)}
            for tag in activity.tags if tag in ACCESS_TAGS]
    rules = activity.schedules
    repeating = [r for r in rules if r.kind != "once"]
    dated = [r for r in rules if r.kind == "once"]
    if repeating:
        data["eventSchedule"] = [_schedule(r, base, activity.id) for r in rules]
    if dated:
        data["subEvent"] = [_session(r, base, activity.id) for r in dated]
    return data


ACCESS_TAGS = ("wheelchair-accessible", "step-free", "accessible-toilet", "hearing-loop",
               "dementia-friendly")


def _scheme_url(base: str, taxonomy: str) -> str:
    return f"{base}/oruk/taxonomies/{oruk.taxonomy_id(taxonomy)}"


def _term_url(base: str, taxonomy: str, term: str) -> str:
    return f"{base}/oruk/taxonomy_terms/{oruk.term_id(taxonomy, term)}"


def _concept(category: str, base: str) -> dict[str, Any]:
    """The Activity List concept for a category (only those are published)."""
    concepts = CONCEPTS.get(category)
    if concepts:
        label = vocab.openactive_label(concepts[0]) or vocab.CATEGORY_LABELS[category]
        return {"@type": "Concept", "@id": concepts[0], "prefLabel": label,
                "inScheme": ACTIVITY_LIST}
    raise ValueError(f"{category!r} has no OpenActive Activity List concept")


def _organizer(activity: Activity, base: str) -> dict[str, Any]:
    org = activity.organisation
    if org is None:
        return {"@type": "Organization", "@id": f"{base}/activities/{activity.id}#organiser",
                "name": activity.contact_name or activity.name}
    data: dict[str, Any] = {"@type": "Organization",
                            "@id": f"{base}/oruk/services?organization_id="
                                   f"{oruk.entity_id(base, 'organization', org.id)}",
                            "name": org.name}
    if org.url and oruk.url_or_none(org.url):
        data["url"] = org.url.strip()
    if org.email and oruk.email_or_none(org.email):
        data["email"] = org.email.strip()
    if org.phone:
        data["telephone"] = org.phone
    return data


def _place(activity: Activity, lat: float | None, lon: float | None,
           base: str, region: str | None) -> dict[str, Any]:
    venue = activity.venue
    assert venue is not None and lat is not None and lon is not None
    place: dict[str, Any] = {"@type": "Place", "@id": f"{base}/venues/{venue.id}",
                             "identifier": venue.id, "name": venue.name,
                             "geo": {"@type": "GeoCoordinates", "latitude": round(lat, 7),
                                     "longitude": round(lon, 7)}}
    parts = [p.strip() for p in (venue.address or "").split(",") if p.strip()]
    if parts and venue.postcode and region:
        # OpenActive wants every part of a PostalAddress; without them, geo alone says where.
        place["address"] = {
            "@type": "PostalAddress",
            "streetAddress": ", ".join(parts[:-1]) if len(parts) > 1 else parts[0],
            "addressLocality": parts[-1] if len(parts) > 1 else region,
            "addressRegion": region, "postalCode": venue.postcode, "addressCountry": "GB"}
    features = [("Step-free access", venue.step_free),
                ("Accessible toilet", venue.accessible_toilet),
                ("Hearing loop", venue.hearing_loop)]
    known = [{"@type": "LocationFeatureSpecification", "name": name, "value": value}
             for name, value in features if value is not None]
    if known:
        place["amenityFeature"] = known
    return place


def _offers(activity: Activity, page: str) -> list[dict[str, Any]]:
    offer: dict[str, Any] = {"@type": "Offer", "@id": f"{page}#offer", "url": page,
                             "priceCurrency": "GBP"}
    if activity.cost_kind == "free":
        return [offer | {"name": "Free", "price": 0}]
    if activity.cost_kind == "amount" and activity.cost_amount is not None:
        return [offer | {"name": activity.cost_text or "Each session",
                         "price": float(activity.cost_amount)}]
    return []


def _day_uri(code: str) -> str:
    return f"https://schema.org/{DAY_NAMES[code]}"


def _schedule(rule: ScheduleRule, base: str, number: int) -> dict[str, Any]:
    """An OpenActive Schedule (PartialSchedule when it has no start date or time)."""
    spec: dict[str, Any] = {"@type": "Schedule", "scheduleTimezone": "Europe/London",
                            "scheduledEventType": "ScheduledSession",
                            "idTemplate": f"{series_id(base, number)}/sessions/{{startDate}}"}
    if rule.kind == "once":
        assert rule.on_date is not None
        spec |= {"repeatFrequency": "P1D", "startDate": rule.on_date.isoformat(),
                 "endDate": rule.on_date.isoformat()}
    elif rule.kind == "monthly":
        spec |= {"repeatFrequency": f"P{rule.interval}M",
                 "byDay": [f"{p}{d}" for p in rule.positions for d in rule.days]}
    elif rule.kind == "daily" and not rule.days:
        spec["repeatFrequency"] = f"P{rule.interval}D"
    else:
        spec |= {"repeatFrequency": f"P{rule.interval}W" if rule.kind == "weekly" else "P1W",
                 "byDay": [_day_uri(d) for d in rule.days]}
    if rule.kind != "once":
        first = rule.valid_from or INTERVAL_ANCHOR  # keeps every-other-week parity
        spec["startDate"] = first.isoformat()
        if rule.valid_to:
            spec["endDate"] = rule.valid_to.isoformat()
    if rule.start_time:
        spec["startTime"] = rule.start_time.strftime("%H:%M")
    if rule.end_time:
        spec["endTime"] = rule.end_time.strftime("%H:%M")
        if rule.start_time:
            minutes = (datetime.combine(date.min, rule.end_time) - datetime.combine(
                date.min, rule.start_time)) // timedelta(minutes=1)
            if minutes > 0:
                spec["duration"] = f"PT{minutes // 60}H{minutes % 60}M"
    if rule.except_dates:
        spec["exceptDate"] = [_at(d, rule) for d in rule.except_dates]
    if not (rule.start_time and spec.get("startDate")):
        spec["@type"] = "PartialSchedule"
    return spec


def _at(day: date, rule: ScheduleRule) -> str:
    if rule.start_time is None:
        return day.isoformat()
    return datetime.combine(day, rule.start_time, tzinfo=LONDON).isoformat()


def _session(rule: ScheduleRule, base: str, number: int) -> dict[str, Any]:
    assert rule.on_date is not None
    start = datetime.combine(rule.on_date, rule.start_time or datetime.min.time(),
                             tzinfo=LONDON)
    session: dict[str, Any] = {"@type": "ScheduledSession",
                               "@id": f"{series_id(base, number)}/sessions/"
                                      f"{start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}",
                               "startDate": start.isoformat() if rule.start_time
                               else rule.on_date.isoformat()}
    if rule.start_time and rule.end_time and rule.end_time > rule.start_time:
        session["endDate"] = datetime.combine(rule.on_date, rule.end_time,
                                              tzinfo=LONDON).isoformat()
    return session


def dataset(config: Mapping, *, feed_url: str, page_url: str) -> dict[str, Any]:
    """The schema.org Dataset the dataset site embeds (OpenActive's dataset site spec)."""
    base = config["PUBLIC_URL"].rstrip("/")
    name = config.get("OPEN_DATA_PUBLISHER") or "AssetMap"
    return {
        "@context": ["https://schema.org/", "https://openactive.io/"],
        "@type": "Dataset", "@id": page_url, "url": page_url,
        "name": f"{name} community activities",
        "description": "Community activities near people - lunch clubs, walking groups, "
                       "chair exercise, dance, singing and more - with when and where they "
                       "run, published as an OpenActive Realtime Paged Data Exchange feed.",
        "keywords": ["Activities", "Community", "Sessions", "OpenActive"],
        "license": config.get("OPEN_DATA_LICENSE") or DEFAULT_LICENSE,
        "inLanguage": ["en-GB"],
        "schemaVersion": "https://openactive.io/modelling-opportunity-data/2.0/",
        "publisher": {"@type": "Organization", "name": name, "url": base},
        "distribution": [{"@type": "DataDownload", "name": KIND,
                          "additionalType": "https://openactive.io/SessionSeries",
                          "encodingFormat": "application/vnd.openactive.rpde+json; version=1",
                          "contentUrl": feed_url,
                          "identifier": "SessionSeries"}],
        "datePublished": "2026-01-01",
    }
