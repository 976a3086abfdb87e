"""Every Open Referral UK list filter, honoured: what a consumer asks for is what it gets.

The profile's filters (`search`, `taxonomy_term_id`, `taxonomy_id`, `minimum_age`,
`maximum_age`, `day`, `start_time`, `end_time`, `postcode` (+ `proximity`), `organization_id`,
`modified_after`) and AssetMap's documented extensions (`age`, `walking_minutes` + `pace`).
Filters that SQL can answer narrow the query; schedules and distances are checked in Python on
the few columns they need, and paging is then done over the ordered ids, so `total_items` and
the page links are right for every combination.

Taxonomies. AssetMap publishes two: its activity categories and its suitability tags. Their ids
and their terms' ids are name-based UUIDs (stable for ever, like the slugs they stand for); a
category that has an OpenActive Activity List concept carries it as `term_uri`, and a consumer
may filter by that concept's URI (or its bare UUID) as a `taxonomy_term_id` too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from assetmap import vocab
from assetmap.errors import NotFound, ValidationError
from assetmap.freshness.due import clock
from assetmap.geo import haversine_m
from assetmap.models import Activity, ActivityTag, Organisation, ScheduleEntry, Venue
from assetmap.opendata import oruk
from assetmap.opendata.oruk import taxonomy_id
from assetmap.params import in_range
from assetmap.places.area_index import area_names, origin_areas, serves
from assetmap.places.geocode import geocode_postcode
from assetmap.schedule import DAY_CODES, DAY_NAMES, LONDON, ScheduleRule
from assetmap.spatial import BBox, in_bbox, lat_of, lon_of
from assetmap.walking import MINUTES_RANGE, PACES

MAX_PROXIMITY_M = 100_000
ID_CHUNK = 5000
DAY_WORDS: dict[str, str] = {}
for _code in DAY_CODES:
    _name = DAY_NAMES[_code].lower()
    DAY_WORDS |= {_code.lower(): _code, _name: _code, _name[:3]: _code}

# -- taxonomies ----------------------------------------------------------------------------

TAXONOMIES: tuple[tuple[str, str, tuple[vocab.Term, ...]], ...] = (
    (oruk.CATEGORY_TAXONOMY, "What an activity is (lunch club, yoga, walking group...). Terms "
     "with an OpenActive Activity List concept carry it as term_uri.", vocab.CATEGORIES),
    (oruk.TAG_TAXONOMY, "Who and what an activity suits (step-free, dementia friendly, "
     "drop-in...).", vocab.SUITABILITY_TAGS),
)


@dataclass(frozen=True)
class TermRef:
    taxonomy: str
    slug: str
    label: str
    concepts: tuple[str, ...]

    @property
    def id(self) -> str:
        return oruk.term_id(self.taxonomy, self.slug)


TERMS: tuple[TermRef, ...] = tuple(TermRef(name, t.id, t.label, t.openactive)
                                   for name, _d, terms in TAXONOMIES for t in terms)
_TERM_BY_ID = {t.id: t for t in TERMS}
_TAXONOMY_BY_ID = {taxonomy_id(name): (name, text, terms) for name, text, terms in TAXONOMIES}


def taxonomy_dict(name: str, description: str, base: str, *, with_terms: bool) -> dict[str, Any]:
    tid = taxonomy_id(name)
    data: dict[str, Any] = {"id": tid, "name": name, "description": description,
                            "uri": f"{base}/oruk/taxonomies/{tid}", "version": "1"}
    if with_terms:
        data["taxonomy_terms"] = [term_dict(t) for t in TERMS if t.taxonomy == name]
    return data


def term_dict(term: TermRef) -> dict[str, Any]:
    data: dict[str, Any] = {"id": term.id, "name": term.label, "description": term.label,
                            "taxonomy": term.taxonomy, "taxonomy_id": taxonomy_id(term.taxonomy),
                            "term": term.slug}
    if term.concepts:
        data["term_uri"] = term.concepts[0]
    return data


def _paged(items: Sequence[Any], page: int, per_page: int) -> dict[str, Any]:
    total = len(items)
    return _page_body(total, page, per_page, list(items[(page - 1) * per_page:page * per_page]))


def _page_body(total: int, page: int, per_page: int, contents: list) -> dict[str, Any]:
    pages = max(1, -(-total // per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page,
            "size": len(contents), "first_page": page == 1, "last_page": page >= pages,
            "empty": total == 0, "contents": contents}


def taxonomy_page(config: Mapping, page: int, per_page: int) -> dict[str, Any]:
    base = config["PUBLIC_URL"].rstrip("/")
    return _paged([taxonomy_dict(n, d, base, with_terms=False) for n, d, _t in TAXONOMIES],
                  page, per_page)


def taxonomy_detail(config: Mapping, raw_id: str) -> dict[str, Any]:
    found = _TAXONOMY_BY_ID.get(raw_id.strip().lower())
    if found is None:
        raise NotFound(f"there is no taxonomy with id {raw_id!r}")
    name, description, _terms = found
    return taxonomy_dict(name, description, config["PUBLIC_URL"].rstrip("/"), with_terms=True)


def term_page(wanted_taxonomy: str, page: int, per_page: int) -> dict[str, Any]:
    """Every term; a taxonomy id narrows to that taxonomy's terms."""
    wanted = wanted_taxonomy.strip().lower()
    terms = [t for t in TERMS if not wanted or taxonomy_id(t.taxonomy) == wanted]
    return _paged([term_dict(t) for t in terms], page, per_page)


def term_detail(raw_id: str) -> dict[str, Any]:
    term = _TERM_BY_ID.get(raw_id.strip().lower())
    if term is None:
        raise NotFound(f"there is no taxonomy term with id {raw_id!r}")
    return term_dict(term)


def terms_for(raw: str) -> tuple[TermRef, ...]:
    """Terms a `taxonomy_term_id` value names: term UUIDs, or OpenActive concept URIs/UUIDs."""
    found: list[TermRef] = []
    for value in (v.strip() for v in raw.split(",") if v.strip()):
        key = value.lower()
        if key in _TERM_BY_ID:
            found.append(_TERM_BY_ID[key])
            continue
        concept = key if key.startswith("http") else vocab.OA + key
        found += [t for t in TERMS if concept in (c.lower() for c in t.concepts)]
    return tuple(found)


# -- the filter ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ServiceFilter:
    search: tuple[str, ...] = ()
    terms: tuple[TermRef, ...] | None = None  # None: no term filter; (): matches nothing
    taxonomy: str | None = None
    no_taxonomy: bool = False  # an unknown taxonomy_id: matches nothing
    minimum_age: int | None = None
    maximum_age: int | None = None
    age: int | None = None
    day: str | None = None  # MO..SU
    start_time: time | None = None
    end_time: time | None = None
    origin: tuple[float, float] | None = None
    proximity: float | None = None
    walking_minutes: int | None = None
    pace: str = "typical"
    organisation_id: int | None = None
    no_organisation: bool = False
    modified_after: datetime | None = None
    # The areas the postcode lies in: a service with a service area must serve one of them.
    served: frozenset[str] | None = None

    @classmethod
    def checked(cls, *, search: str = "", terms: tuple[TermRef, ...] | None = None,
                taxonomy_id: str = "", minimum_age: int | None = None,
                maximum_age: int | None = None, age: int | None = None, day: str = "",
                start_time: time | None = None, end_time: time | None = None,
                organisation: str = "", proximity: float | None = None,
                walking_minutes: int | None = None, pace: str = "", postcode: str = "",
                modified_after: datetime | None = None, config: Mapping,
                session: Session) -> ServiceFilter:
        """A filter from typed values (web/forms.py parses the query); ValidationError names
        the parameter. Unknown ids match nothing (a consumer asking for a term AssetMap does
        not use gets an empty page)."""
        raw_tax = taxonomy_id.strip().lower()
        taxonomy = _TAXONOMY_BY_ID[raw_tax][0] if raw_tax in _TAXONOMY_BY_ID else None
        for name, years in (("minimum_age", minimum_age), ("maximum_age", maximum_age),
                            ("age", age)):
            if years is not None:
                in_range(years, name, 0, 150)
        raw_org = organisation.strip()
        org = oruk.entity_number(config["PUBLIC_URL"], "organization", raw_org) if raw_org \
            else None
        origin, pace = _where(session, config, postcode=postcode, proximity=proximity,
                              minutes=walking_minutes, pace=pace)
        served = None if origin is None else frozenset(origin_areas(session, *origin))
        return cls(search=tuple(w.lower() for w in search.split() if w), terms=terms,
                   taxonomy=taxonomy, no_taxonomy=bool(raw_tax) and taxonomy is None,
                   minimum_age=minimum_age, maximum_age=maximum_age, age=age, day=_day(day),
                   start_time=start_time, end_time=end_time, origin=origin,
                   proximity=proximity, walking_minutes=walking_minutes, pace=pace,
                   organisation_id=org, no_organisation=bool(raw_org) and org is None,
                   modified_after=modified_after, served=served)

    @property
    def by_schedule(self) -> bool:
        return bool(self.day or self.start_time or self.end_time)

    @property
    def by_place(self) -> bool:
        return self.proximity is not None or self.walking_minutes is not None

    @property
    def by_area(self) -> bool:
        """A postcode was given: services with a service area must cover it (the profile:
        "if service_area is available, only return results where the postcode exists within
        the service_area"); those without one are not narrowed by it."""
        return self.served is not None


def _day(raw: str | None) -> str | None:
    given = (raw or "").strip()
    text = given.lower()
    if not text:
        return None
    if text not in DAY_WORDS:
        raise ValidationError("day", f"{given!r} is not a day of the week",
                              allowed=[DAY_NAMES[c] for c in DAY_CODES])
    return DAY_WORDS[text]


def _where(session: Session, config: Mapping, *, postcode: str, proximity: float | None,
           minutes: int | None, pace: str) -> tuple[tuple[float, float] | None, str]:
    """The point measured from (the postcode's), and the pace; distances need a postcode."""
    if proximity is not None and not 0 < proximity <= MAX_PROXIMITY_M:  # NaN fails this too
        raise ValidationError("proximity", f"{proximity:g} is not a distance in metres "
                                           f"(more than 0, up to {MAX_PROXIMITY_M})")
    if minutes is not None:
        in_range(minutes, "walking_minutes", *MINUTES_RANGE)
    pace = pace.strip() or "typical"
    if pace not in PACES:
        raise ValidationError("pace", f"unknown pace {pace!r}", allowed=list(PACES))
    postcode = postcode.strip()
    if not postcode:
        for name, value in (("proximity", proximity), ("walking_minutes", minutes)):
            if value is not None:
                raise ValidationError(name, "give a postcode to measure from")
        return None, pace
    found = geocode_postcode(postcode, config["DATA_DIR"], session)
    return (found.lat, found.lon), pace


def _runs(rule: ScheduleRule, flt: ServiceFilter, today: date) -> bool:
    """The rule is current and has sessions on the asked-for day, in the asked-for hours."""
    if (rule.valid_to and rule.valid_to < today) or (rule.on_date and rule.on_date < today):
        return False
    if flt.day:
        if rule.kind == "once":
            assert rule.on_date is not None
            if DAY_CODES[rule.on_date.weekday()] != flt.day:
                return False
        elif (rule.days and flt.day not in rule.days) or (not rule.days
                                                          and rule.kind != "daily"):
            return False
    if flt.start_time and (rule.start_time is None or rule.start_time < flt.start_time):
        return False
    return not (flt.end_time and (rule.end_time is None or rule.end_time > flt.end_time))


# -- queries -------------------------------------------------------------------------------

def _filtered(flt: ServiceFilter, *, located: bool) -> Select:
    """(id, lat, lon, venue id, service area) of published services matching every
    SQL-answerable filter."""
    stmt = (select(Activity.id, lat_of(Venue.geom), lon_of(Venue.geom), Activity.venue_id,
                   Activity.service_area)
            .outerjoin(Venue, Venue.id == Activity.venue_id)
            .outerjoin(Organisation, Organisation.id == Activity.organisation_id)
            .where(Activity.status.in_(tuple(oruk.STATUSES))))
    for word in flt.search:
        stmt = stmt.where(or_(func.lower(Activity.name).contains(word, autoescape=True),
                              func.lower(func.coalesce(Activity.description, ""))
                              .contains(word, autoescape=True)))
    if flt.terms is not None:
        categories = [t.slug for t in flt.terms if t.taxonomy == oruk.CATEGORY_TAXONOMY]
        tags = [t.slug for t in flt.terms if t.taxonomy == oruk.TAG_TAXONOMY]
        stmt = stmt.where(or_(Activity.category.in_(categories), Activity.id.in_(
            select(ActivityTag.activity_id).where(ActivityTag.tag.in_(tags)))))
    if flt.no_taxonomy or flt.no_organisation:
        stmt = stmt.where(Activity.id < 0)
    if flt.taxonomy == oruk.TAG_TAXONOMY:
        stmt = stmt.where(Activity.id.in_(select(ActivityTag.activity_id)))
    if flt.organisation_id is not None:
        stmt = stmt.where(Activity.organisation_id == flt.organisation_id)
    if flt.minimum_age is not None:
        stmt = stmt.where(Activity.age_min >= flt.minimum_age)
    if flt.maximum_age is not None:
        stmt = stmt.where(Activity.age_max <= flt.maximum_age)
    if flt.age is not None:
        stmt = stmt.where(or_(Activity.age_min.is_(None), Activity.age_min <= flt.age),
                          or_(Activity.age_max.is_(None), Activity.age_max >= flt.age))
    since = flt.modified_after
    if since is not None:
        stmt = stmt.where(or_(Activity.updated_at >= since, Activity.last_verified_at >= since,
                              Venue.updated_at >= since, Organisation.updated_at >= since))
    if located:
        stmt = stmt.where(or_(Activity.venue_id.is_not(None), Activity.mode == "online"))
    if flt.by_place:
        assert flt.origin is not None
        reach = flt.proximity or 0.0
        if flt.walking_minutes is not None:
            reach = max(reach, flt.walking_minutes * PACES[flt.pace].metres_per_minute * 1.5)
        stmt = stmt.where(in_bbox(Venue.geom, BBox.around(*flt.origin, reach)))
    return stmt


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i:i + ID_CHUNK] for i in range(0, len(ids), ID_CHUNK)]


def matching_ids(session: Session, flt: ServiceFilter, *, now: datetime,
                 walk: Callable[[float, float, int, str], dict[int, tuple[float, float]]],
                 located: bool = False) -> list[int]:
    """Ids of every matching service, nearest first when measured from a postcode, else by id."""
    rows = session.execute(_filtered(flt, located=located).order_by(Activity.id)).all()
    if flt.by_schedule:
        today = now.astimezone(LONDON).date()
        running: set[int] = set()
        for chunk in _chunks([r[0] for r in rows]):
            for activity_id, rule in session.execute(
                    select(ScheduleEntry.activity_id, ScheduleEntry.rule)
                    .where(ScheduleEntry.activity_id.in_(chunk))):
                if activity_id not in running and _runs(ScheduleRule.from_dict(rule), flt, today):
                    running.add(activity_id)
        rows = [r for r in rows if r[0] in running]
    if flt.served is not None:
        rows = [r for r in rows if r.service_area is None or serves(r.service_area, flt.served)]
    if not flt.by_place:
        return [r[0] for r in rows]
    assert flt.origin is not None
    lat0, lon0 = flt.origin
    reachable = (walk(lat0, lon0, flt.walking_minutes, flt.pace)
                 if flt.walking_minutes is not None else None)
    kept: list[tuple[float, int]] = []
    for activity_id, lat, lon, venue_id, _area in rows:
        if lat is None or lon is None:
            continue
        metres = haversine_m(lat0, lon0, lat, lon)
        if flt.proximity is not None and metres > flt.proximity:
            continue
        if reachable is not None and venue_id not in reachable:
            continue
        kept.append((metres, activity_id))
    return [activity_id for _m, activity_id in sorted(kept)]


def _load(session: Session, ids: Sequence[int], *, full: bool) -> list[tuple[Activity, Any, Any]]:
    if not ids:
        return []
    options = [selectinload(Activity.organisation), selectinload(Activity.venue)]
    if full:
        options += [selectinload(Activity.schedule_rows), selectinload(Activity.tag_rows)]
    rows = session.execute(select(Activity, lat_of(Venue.geom), lon_of(Venue.geom))
                           .outerjoin(Venue, Venue.id == Activity.venue_id)
                           .where(Activity.id.in_(list(ids))).options(*options)).all()
    by_id = {row[0].id: row for row in rows}
    return [tuple(by_id[i]) for i in ids if i in by_id]


def _page_of(session: Session, flt: ServiceFilter, config: Mapping, page: int, per_page: int,
             walk: Callable, *, located: bool) -> tuple[int, list]:
    if flt.by_schedule or flt.by_place or flt.by_area:
        ids = matching_ids(session, flt, now=clock(config), walk=walk, located=located)
        total, chosen = len(ids), ids[(page - 1) * per_page:page * per_page]
    else:
        stmt = _filtered(flt, located=located)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        chosen = list(session.scalars(stmt.with_only_columns(Activity.id).order_by(Activity.id)
                                      .offset((page - 1) * per_page).limit(per_page)))
    return total, _load(session, chosen, full=located)


def service_page(session: Session, config: Mapping, flt: ServiceFilter, page: int,
                 per_page: int, walk: Callable) -> dict[str, Any]:
    """A page of services (one-to-one fields) matching every filter asked for."""
    total, rows = _page_of(session, flt, config, page, per_page, walk, located=False)
    return _page_body(total, page, per_page,
                      [oruk.service_summary(a, config) for a, _lat, _lon in rows])


def _one_to_one(location: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in location.items() if not isinstance(v, list)}


def service_at_location_page(session: Session, config: Mapping, flt: ServiceFilter,
                             page: int, per_page: int, walk: Callable) -> dict[str, Any]:
    """A page of services at their locations (the same filters as services)."""
    total, rows = _page_of(session, flt, config, page, per_page, walk, located=True)
    base = config["PUBLIC_URL"].rstrip("/")
    contents = []
    for activity, lat, lon in rows:
        summary = oruk.service_summary(activity, config)
        for link in oruk.locations(activity, lat, lon, base, summary["id"]):
            contents.append({"id": link["id"], "service": summary,
                             "location": _one_to_one(link["location"])})
    return _page_body(total, page, per_page, contents)


def service_at_location_detail(session: Session, config: Mapping, raw_id: str
                               ) -> dict[str, Any]:
    """One service at its location, fully nested (the service too).

    The profile's OpenAPI declares this answer with the *service* schema, while HSDS's
    service_at_location has id, service_id, location_id and location. Both hold: the link's
    fields, the service's own fields beside them (so name and status are there), and the
    whole service under `service`."""
    base = config["PUBLIC_URL"].rstrip("/")
    number = oruk.entity_number(base, "service_at_location", raw_id)
    rows = _load(session, [number], full=True) if number is not None else []
    if rows and rows[0][0].status in oruk.STATUSES:
        activity, lat, lon = rows[0]
        service = oruk.service_full(activity, lat, lon, config,
                                    area_names(session, activity.service_area or ()))
        for link in service["service_at_locations"]:
            fields = {k: v for k, v in service.items() if k != "id"}
            return fields | link | {"service": service}
    raise NotFound(f"there is no service at a location with id {raw_id!r}")


# -- the filters, described for the OpenAPI document (opendata/openapi.py) -----------------

def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


PAGING = {
    "page": _param("page", "Page number, from 1 (0 means the first page).",
                   {"type": "integer", "minimum": 0, "maximum": 1_000_000}),
    "per_page": _param("per_page", "Items per page, 1-500 (0 means the default, 50).",
                       {"type": "integer", "minimum": 0, "maximum": 500}),
}
SERVICE_FILTERS = {
    "search": _param("search", "Words that must all appear in the name or description "
                     "(any case).", {"type": "string"}),
    "taxonomy_term_id": _param(
        "taxonomy_term_id", "A term's id from /oruk/taxonomy_terms, or an OpenActive Activity "
        "List concept (URI or UUID); several separated by commas match any of them. An "
        "unknown id matches nothing.", {"type": "string"}),
    "taxonomy_id": _param("taxonomy_id", "Services with any term of this taxonomy.",
                          {"type": "string"}),
    "minimum_age": _param("minimum_age", "Services whose minimum age is at least this.",
                          {"type": "integer", "minimum": 0, "maximum": 150}),
    "maximum_age": _param("maximum_age", "Services whose maximum age is at most this.",
                          {"type": "integer", "minimum": 0, "maximum": 150}),
    "age": _param("age", "AssetMap extension: services open to a person of this age.",
                  {"type": "integer", "minimum": 0, "maximum": 150}),
    "day": _param("day", "Services with a current schedule on this day (Monday, mon, MO).",
                  {"type": "string"}),
    "start_time": _param("start_time", "Services with a session starting at or after this "
                         "time (HH:MM, London).", {"type": "string", "format": "time"}),
    "end_time": _param("end_time", "Services with a session ending at or before this time "
                       "(HH:MM, London).", {"type": "string", "format": "time"}),
    "postcode": _param("postcode", "A UK postcode: services with a service area (phone and "
                       "online ones) only where it lies inside it; and the point proximity "
                       "and walking_minutes measure from.", {"type": "string"}),
    "proximity": _param("proximity", "Metres, as the crow flies, from the postcode; results "
                        "come nearest first.", {"type": "number", "exclusiveMinimum": 0,
                                                "maximum": MAX_PROXIMITY_M}),
    "walking_minutes": _param("walking_minutes", "AssetMap extension: minutes' walk on the "
                              "street network from the postcode (1-60).",
                              {"type": "integer", "minimum": 1, "maximum": 60}),
    "pace": _param("pace", "AssetMap extension: walking pace for walking_minutes.",
                   {"type": "string", "enum": list(PACES)}),
    "organization_id": _param("organization_id", "Services of this organisation.",
                              {"type": "string"}),
    "modified_after": _param("modified_after", "Services changed at or after this ISO "
                             "date-time.", {"type": "string", "format": "date-time"}),
}
PARAMETERS = SERVICE_FILTERS | PAGING
#: What both lists of services take: `x-query: service-list` in their views' docstrings.
SERVICE_LIST_QUERY = tuple(PARAMETERS)
