"""Open Referral UK (HSDS 3) directory APIs: services, their locations, schedules and costs.

`GET /services?page=N` returns pages of services (`contents`, `total_pages`, `page_number`,
`last_page`); list items may carry only one-to-one fields, in which case the full service is
read from `/services/{id}`. Incremental runs ask for `modified_after` the previous run's start.
The state kept between runs:

* `{}` — never run: a full run.
* `{"modified_after": "2026-01-05T09:50:00Z"}` — the last run finished; the next run asks for
  services changed since then (the run's start minus an overlap, so clock skew loses nothing).
* `{"page": 3, "run_started": "...", "modified_after": ...}` — a run stopped after committing
  page 2; the next run carries on at page 3 with the same `modified_after`.

See https://openreferraluk.org/ and the profile's schema in docs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

from assetmap.errors import ScheduleError, ValidationError
from assetmap.referral.intake import from_capacity
from assetmap.referral.languages import language_code
from assetmap.schedule import ScheduleRule, parse_schedule
from assetmap.vocab import guess_category, resolve_category, resolve_tag
from scrapers.http import PoliteClient, decode_json, with_params
from scrapers.normalise import (
    Cost,
    accessibility,
    age_range,
    clean,
    coordinates,
    cost_from_prices,
    cost_from_text,
    day_code,
    join_parts,
    normalise_postcode,
    parse_date,
    parse_modified,
    parse_time,
    plain,
    recurrence,
)
from scrapers.records import (
    ITEM_ERRORS,
    ActivityRecord,
    ContactRecord,
    EmptyFeed,
    FeedFormatError,
    FetchError,
    Flags,
    IssueLevel,
    OrganisationRecord,
    Page,
    ParseIssue,
    Record,
    VenueRecord,
)

SOURCE_TYPE = "openreferral"
_WITHDRAWN = frozenset({"inactive", "defunct"})
_DETAIL_KEYS = ("service_at_locations", "schedules", "cost_options", "locations")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def services_endpoint(url: str) -> str:
    """The `/services` URL of an API given its base, its /services URL or a service URL."""
    parts = urlsplit(url)
    path = parts.path
    cut = path.find("/services")
    path = path[:cut] + "/services" if cut >= 0 else path.rstrip("/") + "/services"
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


class OpenReferralScraper:
    """Reads an ORUK API's services page by page, fetching full services where needed."""

    source_type: ClassVar[str] = SOURCE_TYPE

    def __init__(self, *, per_page: int = 50, overlap: timedelta = timedelta(minutes=10),
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.per_page = per_page
        self.overlap = overlap
        self.clock = clock

    def fetch(self, client: PoliteClient, url: str,
              state: Mapping[str, Any]) -> Iterator[Page]:
        """Pages of fully nested services with the state to store after each (see above)."""
        endpoint = services_endpoint(url)
        since = state.get("modified_after")
        page_no = int(state.get("page") or 1)
        started = str(state.get("run_started") or _iso(self.clock()))
        seen_pages: set[tuple[str, ...]] = set()
        while True:
            params = {"page": page_no, "per_page": self.per_page, "modified_after": since}
            page_url = with_params(endpoint, params)
            listing = client.get_json(page_url, per_item=True)
            contents = _contents(listing, page_url)
            _check_page(listing, page_no, contents, seen_pages, page_url)
            if page_no == 1 and not since and not contents:
                raise EmptyFeed(f"{page_url} lists no services on a full run; check the API "
                                "address (it should answer /services)", url=page_url)
            listing = {**listing, "contents": [self._complete(client, endpoint, item)
                                               for item in contents]}
            last = _is_last(listing, page_no, contents)
            if last:
                start = datetime.fromisoformat(started)
                new_state: dict[str, Any] = {"modified_after": _iso(start - self.overlap)}
            else:
                new_state = {"page": page_no + 1, "run_started": started}
                if since:
                    new_state["modified_after"] = since
            yield Page(page_url, listing, new_state)
            if last:
                return
            page_no += 1

    def _complete(self, client: PoliteClient, endpoint: str, item: Any) -> Any:
        """The full service when the list gave only its one-to-one fields."""
        if not isinstance(item, dict) or not clean(item.get("id")) or any(
                key in item for key in _DETAIL_KEYS):
            return item
        try:
            detail = client.get_json(f"{endpoint}/{quote(str(item['id']), safe='')}",
                                     per_item=True)
        except FetchError as exc:
            if exc.status in (404, 410):  # gone between the list and the detail request
                return item
            raise
        return detail if isinstance(detail, dict) else item

    def parse(self, raw: Any, *, base_url: str) -> Iterator[Record | ParseIssue]:
        """Records from a page of services, a list of services or one service."""
        data = decode_json(raw, url=base_url, per_item=True)
        if isinstance(data, dict) and "contents" in data:
            services = _contents(data, base_url)
        elif isinstance(data, list):
            services = data
        elif isinstance(data, dict) and "id" in data:
            services = [data]
        else:
            raise FeedFormatError(f"{base_url} is neither a page of services nor a service; "
                                  "check the source is an Open Referral UK API", url=base_url)
        endpoint = services_endpoint(base_url)
        for service in services:
            try:
                found = list(_service(service, endpoint))
            except ITEM_ERRORS as exc:  # e.g. an id that is not text a database can store
                found = [_issue(f"service not used: {exc}", None, base_url)]
            yield from found


def _contents(listing: Any, url: str) -> list[Any]:
    if not isinstance(listing, dict) or not isinstance(listing.get("contents"), list):
        raise FeedFormatError(f"{url} is not an Open Referral page (no 'contents' list); "
                              "check the API address", url=url)
    return listing["contents"]


def _check_page(listing: dict, page_no: int, contents: list[Any],
                seen_pages: set[tuple[str, ...]], url: str) -> None:
    """Stop a run whose paging goes back or repeats (an API that ignores `page` would
    otherwise be read until `total_pages`, or for ever): before the page is stored."""
    number = listing.get("number")
    if isinstance(number, int) and not isinstance(number, bool) and number != page_no:
        raise FeedFormatError(f"{url} answered with page {number} when page {page_no} was "
                              "asked for; the API's paging is broken, so the run stops here "
                              "(nothing from this page on is stored)", url=url)
    ids = tuple(str(item.get("id")) for item in contents if isinstance(item, dict))
    if ids and ids in seen_pages:
        raise FeedFormatError(f"{url} repeats a page already read in this run (the same "
                              "services); the API's paging is broken, so the run stops here "
                              "(nothing from this page on is stored)", url=url)
    seen_pages.add(ids)


def _is_last(listing: dict, page_no: int, contents: list[Any]) -> bool:
    total = listing.get("total_pages")
    return (not contents or listing.get("last_page") is True
            or (isinstance(total, int) and page_no >= total))


def _issue(message: str, external_id: str | None, url: str | None, *,
           level: IssueLevel = "skipped") -> ParseIssue:
    return ParseIssue(SOURCE_TYPE, message, level, external_id, url)


def _service(service: Any, endpoint: str) -> Iterator[Record | ParseIssue]:
    if not isinstance(service, dict) or not clean(service.get("id")):
        yield _issue("a service without an id cannot be updated later", None, endpoint)
        return
    service_id = clean(service["id"]) or ""
    url = f"{endpoint}/{quote(service_id, safe='')}"
    status = (clean(service.get("status")) or "active").lower()
    notes: list[str] = []
    try:
        record = _record(service, service_id, url, notes)
    except ITEM_ERRORS as exc:
        if status in _WITHDRAWN:
            yield ActivityRecord.tombstone(SOURCE_TYPE, service_id, raw_kind="service",
                                           modified=parse_modified(service.get("last_modified")))
        else:
            yield _issue(f"service not used: {exc}", service_id, url)
        return
    yield replace(record, deleted=True) if status in _WITHDRAWN else record
    for note in notes:
        yield _issue(note, service_id, url, level="warning")


def _terms(service: dict) -> list[str]:
    names: list[str] = []
    for attribute in service.get("attributes") or []:
        term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
        if isinstance(term, dict):
            names.extend(t for t in (clean(term.get("name")), clean(term.get("term"))) if t)
    return list(dict.fromkeys(names))


def _record(service: dict, service_id: str, url: str, notes: list[str]) -> ActivityRecord:
    name = clean(service.get("name"))
    if not name:
        raise ValueError("no name")
    description = plain(service.get("description"))
    terms = _terms(service)
    located = _locations(service)
    physical = [(sal, loc) for sal, loc in located
                if (clean(loc.get("location_type")) or "physical") != "virtual"]
    virtual = len(physical) < len(located)
    chosen_sal, chosen = physical[0] if physical else ({}, None)
    if len(physical) > 1:
        others = ", ".join(clean(loc.get("name")) or clean(loc.get("id")) or "?"
                           for _, loc in physical[1:])
        notes.append(f"service runs at {len(physical)} places; only the first is used "
                     f"(not: {others})")
    venue, access_tags = _venue(chosen) if chosen else (None, frozenset())
    rows = [r for r in (service.get("schedules") or []) + (chosen_sal.get("schedules") or [])
            + ((chosen or {}).get("schedules") or []) if isinstance(r, dict)]
    schedules: list[ScheduleRule] = []
    for row in rows:
        schedules.extend(_schedule(row, notes))
    cost = _cost(service)
    age_min, age_max, age_tags = age_range(service.get("minimum_age"),
                                           service.get("maximum_age"))
    tags = set(access_tags) | age_tags | {t for t in map(resolve_tag, terms) if t}
    if cost.kind == "free":
        tags.add("free")
    if virtual:
        tags.add("online-option")
    organisation = _organisation(service.get("organization"))
    phone = _first_phone(service)
    category = next((c for c in map(resolve_category, terms) if c), None) or (
        guess_category(name) if guess_category(name) != "other"
        else guess_category(name, *terms, description))
    return ActivityRecord(
        source_type=SOURCE_TYPE, external_id=service_id, name=name, source_url=url,
        description=description, category=category, schedules=tuple(dict.fromkeys(schedules)),
        venue=venue, organisation=organisation, cost_kind=cost.kind, cost_amount=cost.amount,
        cost_text=cost.text, tags=frozenset(tags), age_min=age_min, age_max=age_max,
        contact=ContactRecord(clean(service.get("email")), phone, clean(service.get("url")))
        if (service.get("email") or phone or service.get("url")) else None,
        modified=parse_modified(service.get("last_modified")),
        assured_date=parse_date(service.get("assured_date")),
        online=virtual and not physical, raw_kind="service", uri=clean(service.get("url")),
        intake=_intake(service), languages=_languages(service, notes))


def _locations(service: dict) -> list[tuple[dict, dict]]:
    """(service_at_location, location) pairs from `service_at_locations` or `locations`."""
    pairs = []
    for sal in service.get("service_at_locations") or []:
        if isinstance(sal, dict) and isinstance(sal.get("location"), dict):
            pairs.append((sal, sal["location"]))
    for location in service.get("locations") or []:
        if isinstance(location, dict):
            pairs.append(({}, location))
    return pairs


def _venue(location: dict) -> tuple[VenueRecord | None, frozenset[str]]:
    addresses = [a for a in location.get("addresses") or location.get("physical_addresses") or []
                 if isinstance(a, dict)]
    address = next((a for a in addresses if a.get("address_type") == "physical"),
                   addresses[0] if addresses else {})
    raw_postcode = clean(address.get("postal_code"))
    postcode = normalise_postcode(raw_postcode)
    point = coordinates(location.get("latitude"), location.get("longitude"))
    texts = []
    for entry in location.get("accessibility") or location.get("accessibility_for_disabilities") \
            or []:
        if isinstance(entry, dict):
            texts.extend([entry.get("description"), entry.get("accessibility"),
                          entry.get("details")])
    tags, flags = accessibility(*texts)
    name = clean(location.get("name"))
    text = join_parts(address.get("address_1"), address.get("address_2"), address.get("city"),
                      address.get("region"), raw_postcode if postcode is None else None)
    if not (name or text or postcode or point):
        return None, tags
    return VenueRecord(SOURCE_TYPE, external_id=clean(location.get("id")), name=name,
                       address=text, postcode=postcode, lat=point[0] if point else None,
                       lon=point[1] if point else None, accessibility=Flags(flags),
                       website=clean(location.get("url"))), tags


def _schedule(row: dict, notes: list[str]) -> tuple[ScheduleRule, ...]:
    """Rules from one HSDS schedule row; unusable rows become notes, never errors."""
    freq = (clean(row.get("freq")) or "").upper() or None
    byday = [d.strip() for d in (clean(row.get("byday")) or "").split(",") if d.strip()]
    description = clean(row.get("description"))
    try:
        interval = int(float(row.get("interval") or 1))
        dtstart = parse_date(row.get("dtstart"))
        # Every-other-week parity is counted from dtstart, so it anchors the rule.
        valid_from = dtstart if interval > 1 and dtstart else (
            parse_date(row.get("valid_from")) or dtstart)
        valid_to = parse_date(row.get("valid_to")) or parse_date(row.get("until"))
        opens = parse_time(row.get("opens_at"), on=valid_from)
        closes = parse_time(row.get("closes_at"), on=valid_from)
        monthdays = [int(d) for d in (clean(row.get("bymonthday")) or "").split(",")
                     if d.strip().lstrip("-").isdigit()]
        if freq is None and not byday:
            if not description:
                return ()
            return tuple(parse_schedule(description))
        if freq == "WEEKLY" and monthdays:
            notes.append(f"bymonthday {monthdays} ignored: it cannot apply to a weekly schedule")
            monthdays = []
        if freq == "WEEKLY" and not byday and valid_from:
            byday = [day_code(valid_from.strftime("%A")) or ""]
        count = int(row["count"]) if str(row.get("count") or "").isdigit() else None
        return recurrence(freq=freq, byday=byday, interval=interval, start_time=opens,
                          end_time=closes, valid_from=valid_from, valid_to=valid_to,
                          count=count, bymonthday=monthdays)
    except (ScheduleError, ValueError) as exc:
        shown = f" ({description!r})" if description else ""
        notes.append(f"schedule not used{shown}: {exc}")
        return ()


def _cost(service: dict) -> Cost:
    options = [o for o in service.get("cost_options") or [] if isinstance(o, dict)]
    fees = clean(service.get("fees_description")) or clean(service.get("fees"))
    if options:
        prices = [(o.get("amount"), clean(o.get("currency")),
                   join_parts(o.get("option"), o.get("amount_description"))) for o in options]
        return cost_from_prices(prices, text=fees)
    return cost_from_text(fees)


def _organisation(node: Any) -> OrganisationRecord | None:
    if not isinstance(node, dict) or not clean(node.get("name")):
        return None
    phones = [clean(p.get("number")) for p in node.get("phones") or [] if isinstance(p, dict)]
    return OrganisationRecord(name=clean(node.get("name")) or "",
                              url=clean(node.get("website")) or clean(node.get("url")),
                              email=clean(node.get("email")),
                              phone=next((p for p in phones if p), None))


def _first_phone(service: dict) -> str | None:
    holders = [service] + [c for c in service.get("contacts") or [] if isinstance(c, dict)]
    for holder in holders:
        for phone in holder.get("phones") or []:
            if isinstance(phone, dict) and clean(phone.get("number")):
                return clean(phone.get("number"))
    return None


def _languages(service: dict, notes: list[str]) -> tuple[str, ...]:
    """The service's languages as codes (HSDS `languages`: code or name); unknown ones noted."""
    codes = []
    for language in service.get("languages") or []:
        if not isinstance(language, dict):
            continue
        raw = clean(language.get("code")) or clean(language.get("name"))
        if not raw:
            continue
        try:
            codes.append(language_code(raw))
        except ValidationError:
            notes.append(f"language {raw!r} is not one AssetMap knows; left out")
    return tuple(dict.fromkeys(codes))


def _intake(service: dict) -> str | None:
    """Places left, from `service_capacity` (UK profile) or HSDS 3 `capacities`: the first
    entry that gives `available` places."""
    entries = service.get("service_capacity") or service.get("capacities") or []
    if isinstance(entries, dict):
        entries = [entries]
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("available") is not None:
            return from_capacity(entry.get("available"))
    return None
