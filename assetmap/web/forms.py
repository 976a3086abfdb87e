"""Query parameters -> the typed values services take: request parsing lives here, at the edge.

Each function reads the text a request carries (missing, empty or padded parameters included),
turns it into numbers, tuples, times and points, and hands them to the capability's typed
constructor, which checks the values. A bad parameter is a ValidationError naming it, which the
one error handler turns into a 400 (JSON for the API, a page for people).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import time
from pathlib import Path

from sqlalchemy.orm import Session

from assetmap.connector.session import SearchForm
from assetmap.errors import ValidationError
from assetmap.freshness.queue import MAX_PER_PAGE, QueueFilter
from assetmap.listings.query import ActivityFilter
from assetmap.maps.points import MAX_LIST, MAX_ZOOM, MapView
from assetmap.matching.rank import LIMIT_RANGE, MatchQuery, origin_at
from assetmap.opendata import oruk
from assetmap.opendata.oruk_query import ServiceFilter, terms_for
from assetmap.params import flag_param, id_param, int_param, list_param
from assetmap.places.geocode import optional_lat_lon
from assetmap.spatial import BBox
from assetmap.walking import MINUTES_RANGE

Args = Mapping[str, str]


def page_args(args: Args, *, default_per_page: int = 50,
              zero_is_default: bool = False) -> tuple[int, int]:
    """`page` (from 1) and `per_page` (1-500), checked. `zero_is_default`: 0 means the first
    page / the default size (Open Referral UK allows it)."""
    low = 0 if zero_is_default else 1
    page = int_param(args.get("page"), "page", default=1, low=low, high=1_000_000)
    per_page = int_param(args.get("per_page"), "per_page", default=default_per_page, low=low,
                         high=MAX_PER_PAGE)
    return page or 1, per_page or default_per_page


def activity_filter(args: Args) -> ActivityFilter:
    """`bbox`, `category`, `tag` and `status` (comma-separated lists)."""
    bbox = BBox.parse(args["bbox"]) if args.get("bbox") else None
    return ActivityFilter.checked(bbox, list_param(args.get("category")),
                                  list_param(args.get("tag")), list_param(args.get("status")))


def map_view(args: Args) -> MapView:
    """A map's view: `bbox` and `zoom` are required, `list` optional, and the filters."""
    if not (args.get("bbox") or "").strip():
        raise ValidationError("bbox", "give the map view as minLon,minLat,maxLon,maxLat")
    if not (args.get("zoom") or "").strip():
        raise ValidationError("zoom", f"give the map's zoom, a whole number 0-{MAX_ZOOM}")
    zoom = int_param(args.get("zoom"), "zoom", default=0, low=0, high=MAX_ZOOM)
    list_size = int_param(args.get("list"), "list", default=0, low=0, high=MAX_LIST)
    return MapView.checked(activity_filter(args), zoom, list_size)


def match_query(args: Args, *, data_dir: Path, session: Session) -> MatchQuery:
    """A search: `postcode` (or `lat` and `lon`), `minutes`, `pace`, `needs` and `interests`
    (comma-separated), `day`, `time`, `free`, `limit`, `newcomers`, `language`."""
    origin = origin_at(session, data_dir, postcode=args.get("postcode") or "",
                       point=optional_lat_lon(args.get("lat"), args.get("lon")))
    return MatchQuery.checked(
        origin, minutes=int_param(args.get("minutes"), "minutes", default=15,
                                  low=MINUTES_RANGE[0], high=MINUTES_RANGE[1]),
        pace=args.get("pace") or "typical", needs=list_param(args.get("needs")),
        interests=list_param(args.get("interests")), day=args.get("day"),
        time_of_day=args.get("time"), free_only=flag_param(args.get("free"), "free"),
        limit=int_param(args.get("limit"), "limit", default=50, low=LIMIT_RANGE[0],
                        high=LIMIT_RANGE[1]),
        newcomers=flag_param(args.get("newcomers"), "newcomers"),
        language=args.get("language") or "")


def route_query(args: Args, *, data_dir: Path, session: Session) -> MatchQuery:
    """The start of a route: `from` (a postcode or "lat,lon") and `pace`; an error in the
    origin names `from`, the parameter the client sent."""
    raw_from = (args.get("from") or "").strip()
    if not raw_from:
        raise ValidationError("from", "give a postcode or 'lat,lon'")
    try:
        if "," in raw_from:
            lat, _, lon = raw_from.partition(",")
            origin = origin_at(session, data_dir, point=optional_lat_lon(lat, lon))
        else:
            origin = origin_at(session, data_dir, postcode=raw_from)
    except ValidationError as exc:
        raise ValidationError("from", exc.message, allowed=exc.allowed) from None
    return MatchQuery.checked(origin, pace=args.get("pace") or "typical")


def queue_filter(session: Session, args: Args) -> QueueFilter:
    """The freshness queue's `area`, `category`, `source` (an id), `state` and `assigned`
    ("any", "nobody" or a person's id or e-mail)."""
    raw_source = (args.get("source") or "").strip()
    return QueueFilter.checked(
        session, area=args.get("area") or "", category=args.get("category") or "",
        source_id=id_param(raw_source, "source", what="source") if raw_source else None,
        state=args.get("state") or "", assigned=args.get("assigned") or "")


def search_form(args: Mapping[str, Sequence[str]]) -> SearchForm:
    """A connector's search from query parameters given as lists
    (``request.args.to_dict(flat=False)``); needs and interests may repeat or be comma
    separated. Kept as text: the search checks it and shows a bad value back as typed."""

    def one(name: str, default: str = "") -> str:
        values = args.get(name) or [default]
        return (values[0] or default).strip()

    def many(name: str) -> tuple[str, ...]:
        out: list[str] = []
        for value in args.get(name) or ():
            out.extend(list_param(value))
        return tuple(dict.fromkeys(out))

    return SearchForm(one("postcode"), one("lat"), one("lon"), one("minutes", "15"),
                      one("pace", "typical"), many("needs"), many("interests"), one("day"),
                      one("time"), one("free") in ("1", "on", "true", "yes"),
                      one("newcomers") in ("1", "on", "true", "yes"), one("language"))


def service_filter(args: Args, *, config: Mapping, session: Session) -> ServiceFilter:
    """Every Open Referral UK list filter (see opendata/oruk_query.py); a 400 names the
    parameter sent."""
    raw_terms = (args.get("taxonomy_term_id") or "").strip()
    ages = {name: int_param(args.get(name), name, default=-1, low=0, high=150)
            for name in ("minimum_age", "maximum_age", "age")}
    return ServiceFilter.checked(
        search=args.get("search") or "", terms=terms_for(raw_terms) if raw_terms else None,
        taxonomy_id=args.get("taxonomy_id") or "",
        minimum_age=_known(ages["minimum_age"]), maximum_age=_known(ages["maximum_age"]),
        age=_known(ages["age"]), day=args.get("day") or "",
        start_time=_clock(args.get("start_time"), "start_time"),
        end_time=_clock(args.get("end_time"), "end_time"),
        organisation=args.get("organization_id") or "",
        proximity=_proximity(args.get("proximity")),
        walking_minutes=int_param(args.get("walking_minutes"), "walking_minutes", default=0,
                                  low=MINUTES_RANGE[0], high=MINUTES_RANGE[1]) or None,
        pace=args.get("pace") or "", postcode=args.get("postcode") or "",
        modified_after=oruk.parse_modified_after(args.get("modified_after")),
        config=config, session=session)


def _known(value: int) -> int | None:
    return None if value < 0 else value


def _clock(raw: str | None, name: str) -> time | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        moment = time.fromisoformat(text)
    except ValueError:
        raise ValidationError(name, f"{text!r} is not a time such as 09:30 or 14:00:00") \
            from None
    return moment.replace(tzinfo=None)


def _proximity(raw: str | None) -> float | None:
    """Metres as sent; text that is not a number is NaN, which the range check refuses."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return math.nan
