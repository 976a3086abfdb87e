"""Every Open Referral UK filter and endpoint, checked against answers worked out another way
(from the ORM rows, the schedules' own occurrences, and the connector's walking search)."""

from __future__ import annotations

import json
import re
from datetime import datetime, time, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, Actor, apply_changes, create_activity
from assetmap.listings.venues import haversine_m, venue_point
from assetmap.listings.verification import record_verification
from assetmap.matching.rank import MatchQuery
from assetmap.matching.search import find_matches
from assetmap.models import Activity, Venue, utcnow
from assetmap.opendata import oruk
from assetmap.places.geocode import geocode_postcode
from assetmap.schedule import LONDON, occurrences
from assetmap.walking.service import walking_service
from tests.opendata.conftest import shared

POSTCODE = "NW5 1TL"


def all_items(client, path: str, **params) -> list[dict]:
    """Every item of a paged list, walking the `Link: rel=next` headers."""
    url = f"{path}?{urlencode(params | {'per_page': 7})}"
    items: list[dict] = []
    seen_pages = 0
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        items += body["contents"]
        seen_pages += 1
        match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        url = match.group(1) if match else None
        if url:
            sent = {k: v for k, v in parse_qs(urlsplit(url).query).items() if k != "page"}
            assert sent == {k: [str(v)] for k, v in (params | {"per_page": 7}).items()}
    assert len(items) == body["total_items"] and seen_pages == body["total_pages"]
    return items


def number(uuid_text: str) -> int:
    """AssetMap's integer behind one of its ORUK UUIDs (the last 12 hex digits)."""
    return int(uuid_text[-12:], 16)


def listing_ids(items: list[dict]) -> set[int]:
    return {number(i["id"]) for i in items}


def postcode_point(app):
    """Where the ORUK filters measure from: the postcode as the app places it."""
    with session_scope(app) as s:
        return geocode_postcode(POSTCODE, app.config["DATA_DIR"], s)


@pytest.fixture
def rows(app, demo):
    """(id, activity facts) for every listing, read from the ORM: the demo's, and eight more
    at the venues nearest NW5 1TL (the demo has no Monday sessions there), half on Mondays."""
    origin = postcode_point(app)
    with session_scope(app) as s:
        venues = sorted(s.scalars(select(Venue)), key=lambda v: haversine_m(
            origin.lat, origin.lon, *venue_point(s, v)))
        for index, venue in enumerate(venues[:8]):
            when = "Mondays 10:00-11:30" if index % 2 else "Wednesdays 14:00-15:00"
            create_activity(s, {"name": f"Near group {index}", "category": "friendship-group",
                                "venue_id": venue.id, "schedules": [when]}, SYSTEM)
    with session_scope(app) as s:
        out = {}
        for a in s.scalars(select(Activity).options(selectinload(Activity.schedule_rows),
                                                    selectinload(Activity.venue),
                                                    selectinload(Activity.tag_rows))):
            lat, lon = venue_point(s, a.venue) if a.venue else (None, None)
            out[a.id] = {"name": a.name, "description": a.description or "", "lat": lat,
                         "lon": lon, "rules": a.schedules, "category": a.category,
                         "tags": a.tags, "venue_id": a.venue_id, "age_min": a.age_min,
                         "age_max": a.age_max, "status": a.status}
        return out


def runs_on(rules, weekday: int, *, after: time | None = None,
            before: time | None = None) -> bool:
    """Any session in the next nine weeks on that weekday (and within the hours)."""
    start = datetime.now(LONDON).replace(hour=0, minute=0, second=0, microsecond=0)
    for sitting in occurrences(rules, start, start + timedelta(weeks=9)):
        local = sitting.start.astimezone(LONDON)
        if local.weekday() != weekday:
            continue
        if after and local.time() < after:
            continue
        if before and (sitting.end is None or sitting.end.astimezone(LONDON).time() > before):
            continue
        return True
    return False


def test_acceptance_postcode_proximity_and_monday(app, client, rows):
    origin = postcode_point(app)
    near = {i for i, r in rows.items() if r["lat"] is not None
            and haversine_m(origin.lat, origin.lon, r["lat"], r["lon"]) <= 500}
    monday = {i for i, r in rows.items() if runs_on(r["rules"], 0)}
    expected = near & monday
    assert expected and near - monday and monday - near  # the filters each bite
    items = all_items(client, "/oruk/services", postcode=POSTCODE, proximity=500, day="Monday")
    assert listing_ids(items) == expected
    distances = [haversine_m(origin.lat, origin.lon, rows[i]["lat"], rows[i]["lon"])
                 for i in (number(x["id"]) for x in items)]
    assert distances == sorted(distances)  # nearest first
    whole = client.get("/oruk/services?per_page=500").get_json()
    assert whole["total_items"] == len(rows) > len(expected)


def test_acceptance_walking_minutes(app, client, rows, network):
    origin = postcode_point(app)
    with app.app_context(), session_scope(app) as s:
        query = MatchQuery(origin.lat, origin.lon, "postcode", False, minutes=10, limit=200)
        walked = find_matches(s, walking_service(app), query, now=utcnow())
    assert not walked.estimated
    venues = {m["venue"]["id"] for m in walked.matches}
    reachable = {i for i, r in rows.items() if r["venue_id"] in venues}
    monday = {i for i, r in rows.items() if runs_on(r["rules"], 0)}
    items = all_items(client, "/oruk/services", postcode=POSTCODE, walking_minutes=10,
                      day="Monday")
    assert listing_ids(items) == reachable & monday and items
    crow = listing_ids(all_items(client, "/oruk/services", postcode=POSTCODE, proximity=800))
    assert listing_ids(all_items(client, "/oruk/services", postcode=POSTCODE,
                                 walking_minutes=10)) == reachable != crow
    slow = listing_ids(all_items(client, "/oruk/services", postcode=POSTCODE,
                                 walking_minutes=10, pace="slow"))
    assert slow < reachable


def test_search_taxonomies_ages_and_times(app, client, rows):
    lunch = {i for i, r in rows.items()
             if "lunch" in (r["name"] + " " + r["description"]).lower()}
    assert lunch and listing_ids(all_items(client, "/oruk/services", search="LUNCH")) == lunch
    assert listing_ids(all_items(client, "/oruk/services", search="lunch %")) == set()

    terms = {t["term"]: t for t in all_items(client, "/oruk/taxonomy_terms")}
    yoga = terms["yoga"]
    assert yoga["term_uri"].startswith("https://openactive.io/activity-list#")
    want_yoga = {i for i, r in rows.items() if r["category"] == "yoga"}
    assert want_yoga and listing_ids(all_items(client, "/oruk/services",
                                               taxonomy_term_id=yoga["id"])) == want_yoga
    by_concept = all_items(client, "/oruk/services", taxonomy_term_id=yoga["term_uri"])
    assert listing_ids(by_concept) == want_yoga
    step_free = {i for i, r in rows.items() if "step-free" in r["tags"]}
    assert step_free and listing_ids(all_items(
        client, "/oruk/services", taxonomy_term_id=terms["step-free"]["id"])) == step_free
    assert all_items(client, "/oruk/services", taxonomy_term_id="not-a-term") == []

    taxonomies = {t["name"]: t for t in all_items(client, "/oruk/taxonomies")}
    tagged = {i for i, r in rows.items() if r["tags"]}
    assert listing_ids(all_items(client, "/oruk/services", taxonomy_id=taxonomies[
        oruk.TAG_TAXONOMY]["id"])) == tagged
    assert len(all_items(client, "/oruk/services", taxonomy_id=taxonomies[
        oruk.CATEGORY_TAXONOMY]["id"])) == len(rows)

    with session_scope(app) as s:
        for number, (low, high) in {1: (60, None), 2: (18, 65), 3: (None, 25)}.items():
            apply_changes(s, s.get(Activity, number), {"age_min": low, "age_max": high}, SYSTEM)
    assert listing_ids(all_items(client, "/oruk/services", minimum_age=50)) == {1}
    assert listing_ids(all_items(client, "/oruk/services", maximum_age=30)) == {3}
    assert listing_ids(all_items(client, "/oruk/services", age=80)) == set(rows) - {2, 3}

    for day, weekday in (("tuesday", 1), ("SAT", 5), ("SU", 6)):
        want = {i for i, r in rows.items() if runs_on(r["rules"], weekday)}
        assert listing_ids(all_items(client, "/oruk/services", day=day)) == want, day
    morning = {i for i, r in rows.items()
               if any(runs_on(r["rules"], d, after=time(10), before=time(13)) for d in range(7))}
    got = listing_ids(all_items(client, "/oruk/services", start_time="10:00",
                                end_time="13:00"))
    assert got == morning and morning and len(morning) < len(rows)


def test_service_at_locations_and_taxonomy_endpoints(client, rows):
    items = all_items(client, "/oruk/service_at_locations", day="Monday")
    monday = {i for i, r in rows.items() if runs_on(r["rules"], 0) and r["venue_id"]}
    assert listing_ids(items) == monday
    first = items[0]
    assert set(first) == {"id", "service", "location"}
    assert "addresses" not in first["location"]
    detail = client.get(f"/oruk/service_at_locations/{first['id']}").get_json()
    assert detail["id"] == first["id"] and detail["service"]["id"] == first["service"]["id"]
    assert {k: v for k, v in detail["location"].items() if not isinstance(v, list)} == (
        first["location"]) and detail["service"]["schedules"]
    nested = [client.get(f"/oruk/service_at_locations/{i['id']}").get_json()["location"]
              for i in items]
    assert any(n.get("addresses") for n in nested)
    assert client.get("/oruk/service_at_locations/nope").status_code == 404

    definitions = json.loads(shared("standards", "oruk", "schema-service_with_definitions.json")
                             .read_text())["definitions"]
    taxonomy_schema, term_schema = (
        Draft202012Validator(definitions[name] | {"definitions": definitions},
                             format_checker=Draft202012Validator.FORMAT_CHECKER)
        for name in ("taxonomy", "taxonomy_term"))
    taxonomies = all_items(client, "/oruk/taxonomies")
    assert len(taxonomies) == 2
    for taxonomy in taxonomies:
        full = client.get(f"/oruk/taxonomies/{taxonomy['id']}").get_json()
        assert not list(taxonomy_schema.iter_errors(full))
        terms = all_items(client, "/oruk/taxonomy_terms", taxonomy_id=taxonomy["id"])
        assert [t["id"] for t in full["taxonomy_terms"]] == [t["id"] for t in terms]
        for term in terms:
            assert not list(term_schema.iter_errors(term))
            assert client.get(f"/oruk/taxonomy_terms/{term['id']}").get_json() == term
    assert client.get("/oruk/taxonomies/nope").status_code == 404
    assert client.get("/oruk/taxonomy_terms/nope").status_code == 404


def test_paging_zero_links_errors_and_private_notes(app, client, rows):
    zero = client.get("/oruk/services?page=0&per_page=0")
    assert zero.status_code == 200
    body = zero.get_json()
    assert body["page_number"] == 1 and body["size"] == min(50, len(rows))
    link = zero.headers["Link"]
    assert 'rel="next"' in link and 'rel="prev"' not in link and "per_page=0" in link
    last = client.get("/oruk/services?day=Monday&page=2&per_page=3").headers["Link"]
    assert re.search(r'day=Monday[^>]*page=1[^>]*>; rel="prev"', last)

    for query, field in (("day=Funday", "day"), ("start_time=9am", "start_time"),
                         ("proximity=500", "proximity"), ("postcode=NW5 1TL&proximity=-3",
                                                          "proximity"),
                         ("postcode=NW5 1TL&proximity=nan", "proximity"),
                         ("walking_minutes=10", "walking_minutes"),
                         ("postcode=nowhere&proximity=10", "postcode"),
                         ("postcode=NW5 1TL&walking_minutes=99", "walking_minutes"),
                         ("postcode=NW5 1TL&walking_minutes=5&pace=run", "pace"),
                         ("minimum_age=old", "minimum_age")):
        bad = client.get(f"/oruk/services?{query}")
        assert bad.status_code == 400 and bad.get_json()["field"] == field, query
    assert client.get("/oruk/services/99999999999999999999").status_code == 404
    assert client.get("/oruk/service_at_locations/2147483648").status_code == 404

    with session_scope(app) as s:
        record_verification(s, s.get(Activity, 1), "phoned", Actor("user", "Agent Smith"),
                            note="PRIVATE-XYZZY about health")
    text = "".join(client.get(p).get_data(as_text=True) for p in (
        "/oruk/services?per_page=500", "/oruk/service_at_locations?per_page=500",
        "/oruk/services/1", "/oruk/services?search=PRIVATE-XYZZY"))
    assert "XYZZY" not in text and "Agent Smith" not in text
    assert client.get("/oruk/services?search=xyzzy").get_json()["total_items"] == 0


OPEN_PATHS = ("/oruk/services", "/oruk/services/1", "/oruk/service_at_locations",
              "/oruk/taxonomies", "/oruk/taxonomy_terms", "/openactive/session-series",
              "/api/v1/openapi.json")


def test_other_methods_are_refused(client):
    for path in OPEN_PATHS:
        response = client.post(path, headers={"Accept": "application/json"})
        assert response.status_code == 405, path
        assert response.get_json()["error"] == "method-not-allowed", path


def test_refusals_name_the_allowed_methods(client):
    for path in OPEN_PATHS:
        allowed = client.post(path).headers.get("Allow", "")
        assert "GET" in allowed and "POST" not in allowed, path


def test_postcode_narrows_services_that_have_a_service_area_to_those_serving_it(
        app, client, rows):
    """The profile: "if service_area is available, only return results where the postcode
    exists within the service_area". Phone and online services publish theirs; services at
    a venue have none and are not narrowed by the postcode alone."""
    with session_scope(app) as s:
        south = create_activity(s, {
            "name": "Holborn Phone Friends", "category": "befriending", "mode": "phone",
            "service_area": "E05000138", "join_how": "Ring 020 7946 0999"}, SYSTEM).id
        anywhere = create_activity(s, {
            "name": "Online Chat Club", "category": "befriending", "mode": "online",
            "service_area": "anywhere", "join_how": "https://chat.example.org"}, SYSTEM).id
        areas = {a.id: a.service_area for a in s.scalars(select(Activity))}
    everything = listing_ids(all_items(client, "/oruk/services"))
    near = listing_ids(all_items(client, "/oruk/services", postcode=POSTCODE))
    # NW5 1TL is in Kentish Town ward, in Camden: the demo's phone listings serve one or the
    # other, Holborn's does not, and "anywhere" serves it.
    assert south in everything and south not in near
    assert anywhere in near
    assert near == {i for i in everything
                    if areas[i] is None or areas[i] == ["anywhere"]
                    or {"E05000139", "E09000007"} & set(areas[i])}
    assert {i for i in near if areas[i] and areas[i] != ["anywhere"]}  # the demo's phones
    in_holborn = listing_ids(all_items(client, "/oruk/services", postcode="EC1N 7SD"))
    assert south in in_holborn and anywhere in in_holborn
    assert not {i for i in in_holborn if areas[i] and set(areas[i]) == {
        "E05000131", "E05000134", "E05000136", "E05000137", "E05000139"}}  # the north's

    detail = client.get(f"/oruk/services/{south}")
    assert detail.status_code == 200, detail.get_data(as_text=True)
    served = detail.get_json()["service_areas"]
    assert [(a["name"], a["uri"]) for a in served] == [
        ("Holborn and Covent Garden",
         "http://statistics.data.gov.uk/id/statistical-geography/E05000138")]
    assert served[0]["service_id"] == detail.get_json()["id"]
    schema = json.loads(shared("standards", "oruk", "schema-service.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(detail.get_json())) == []
    online = client.get(
        f"/oruk/services/{anywhere}").get_json()
    assert [a["name"] for a in online["service_areas"]] == ["Anywhere"]
    assert "uri" not in online["service_areas"][0]
