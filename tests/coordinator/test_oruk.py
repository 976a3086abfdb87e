"""The Open Referral UK read API: every demo listing validates against the profile's schemas."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from assetmap.db import session_scope
from assetmap.listings.changes import SYSTEM, Actor, apply_changes
from assetmap.listings.verification import record_verification
from assetmap.models import Activity, utcnow
from assetmap.schedule import LONDON

SCHEMAS = Path(__file__).resolve().parents[1] / "fixtures" / "oruk"
PAGE_KEYS = {"total_items", "total_pages", "page_number", "size", "first_page", "last_page",
             "empty", "contents"}


def checker() -> FormatChecker:
    """uuid and email are checked by jsonschema itself; uri and date-time need packages we do
    not install, so they are checked here, strictly."""
    formats = FormatChecker()

    @formats.checks("uri")
    def _uri(value: object) -> bool:
        parts = urlsplit(str(value))
        return parts.scheme in ("http", "https") and bool(parts.netloc) and " " not in value

    @formats.checks("date-time")
    def _datetime(value: object) -> bool:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return "T" in str(value) and moment.tzinfo is not None

    return formats


@pytest.fixture(scope="module")
def validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    load = lambda name: json.loads((SCHEMAS / name).read_text())  # noqa: E731
    formats = checker()
    return (Draft202012Validator(load("schema-service_list.json"), format_checker=formats),
            Draft202012Validator(load("schema-service.json"), format_checker=formats))


def errors(validator: Draft202012Validator, instance: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(instance)]


def test_every_demo_listing_validates(client, demo, validators):
    list_schema, service_schema = validators
    seen = 0
    page_no = 1
    while True:
        page = client.get(f"/oruk/services?page={page_no}&per_page=25")
        assert page.status_code == 200
        body = page.get_json()
        assert set(body) == PAGE_KEYS  # the shape of the profile's example list
        example = json.loads((SCHEMAS / "example-service_list.json").read_text())
        assert {k: type(v) for k, v in body.items()} == {k: type(v) for k, v in example.items()}
        for item in body["contents"]:
            assert errors(list_schema, item) == [], item["name"]
            assert "schedules" not in item  # list items carry one-to-one fields only
            detail = client.get(f"/oruk/services/{item['id']}")
            assert detail.status_code == 200
            full = detail.get_json()
            assert errors(service_schema, full) == [], item["name"]
            assert full["id"] == item["id"] and full["last_modified"] == item["last_modified"]
            seen += 1
        if body["last_page"]:
            break
        page_no += 1
    assert seen == demo == body["total_items"] and body["total_pages"] == -(-demo // 25)


def test_a_service_in_detail(app, client, demo):
    with session_scope(app) as s:
        activity = s.scalar(select(Activity).where(Activity.category == "tea-dance")
                            .order_by(Activity.id).limit(1))
        activity_id = activity.id
    full = client.get(f"/oruk/services/{activity_id}").get_json()
    assert full["status"] == "active" and full["name"].startswith("Tea Dance")
    assert full["url"].endswith(f"/activities/{activity_id}")
    (schedule,) = full["schedules"]
    assert (schedule["freq"], schedule["byday"], schedule["opens_at"], schedule["closes_at"]) == (
        "MONTHLY", "1SU", "14:00:00", "16:30:00")
    (at,) = full["service_at_locations"]
    location = at["location"]
    assert location["location_type"] == "physical"
    assert 51.5 < location["latitude"] < 51.6 and -0.22 < location["longitude"] < -0.1
    assert full["cost_options"] == [{"id": full["cost_options"][0]["id"],
                                     "service_id": full["id"], "amount": 3.0,
                                     "currency": "GBP"}]
    terms = {a["taxonomy_term"]["term"]: a["taxonomy_term"] for a in full["attributes"]}
    assert terms["tea-dance"]["taxonomy"] == "AssetMap activity categories"
    assert terms["tea-dance"]["term_uri"].startswith("https://openactive.io/activity-list#")
    assert terms["over-50s"]["name"] == "Over-50s"
    assert client.get(f"/oruk/services/{full['id']}").get_json() == full
    assert client.get(f"/oruk/services/{full['id'].upper()}").status_code == 200


def test_our_own_scraper_reads_it_back(client, demo):
    from scrapers.openreferral import OpenReferralScraper

    first = client.get("/oruk/services?per_page=5").get_json()["contents"][0]
    full = client.get(f"/oruk/services/{first['id']}").get_json()
    records = list(OpenReferralScraper().parse(json.dumps(full),
                                               base_url="http://localhost/oruk/services"))
    record = records[0]
    assert record.name == full["name"] and record.external_id == full["id"]
    location = full["service_at_locations"][0]["location"]
    assert (record.venue.lat, record.venue.lon) == (location["latitude"],
                                                    location["longitude"])
    category = next(a["taxonomy_term"]["term"] for a in full["attributes"]
                    if a["taxonomy_term"]["taxonomy"] == "AssetMap activity categories")
    assert record.category == category and record.schedules


def test_private_notes_never_appear(app, client, demo):
    with session_scope(app) as s:
        activity = s.get(Activity, 1)
        record_verification(s, activity, "phoned", Actor("user", "Secret Agent"),
                            note="SECRET-NOTE about the organiser's health")
    text = client.get("/oruk/services/1").get_data(as_text=True)
    text += client.get("/oruk/services?per_page=500").get_data(as_text=True)
    assert "SECRET-NOTE" not in text and "Secret Agent" not in text
    assert json.loads(client.get("/oruk/services/1").get_data())["assured_date"] == (
        datetime.now(LONDON).date().isoformat())


def test_statuses_and_modified_after(app, client, demo):
    tomorrow = urlencode({"modified_after": (utcnow() + timedelta(days=1)).isoformat()})
    assert client.get(f"/oruk/services?{tomorrow}").get_json()["total_items"] == 0
    mark = utcnow()
    with session_scope(app) as s:
        apply_changes(s, s.get(Activity, 2), {"status": "ended"}, SYSTEM)
        apply_changes(s, s.get(Activity, 3), {"status": "paused"}, SYSTEM)
        apply_changes(s, s.get(Activity, 4), {"status": "pending"}, SYSTEM)
    changed = client.get("/oruk/services?" + urlencode({"modified_after": mark.isoformat()}))
    body = changed.get_json()
    statuses = {urlsplit(i["url"]).path: i["status"] for i in body["contents"]}
    assert statuses == {"/activities/2": "defunct", "/activities/3": "temporarily closed"}
    assert client.get("/oruk/services/4").status_code == 404  # pending: not published
    assert client.get("/oruk/services").get_json()["total_items"] == demo - 1


def test_open_with_cors_and_clear_errors(client, demo):
    for path in ("/oruk/services", "/oruk/services/1", "/oruk/services/nope", "/oruk/"):
        response = client.get(path, headers={"Origin": "https://nhs.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
    preflight = client.options("/oruk/services", headers={
        "Origin": "https://nhs.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    missing = client.get("/oruk/services/00000000-0000-8000-8000-000000000001")
    assert missing.status_code == 404 and missing.get_json()["error"] == "notfound"
    for query, field in (("page=-1", "page"), ("per_page=501", "per_page"),
                         ("per_page=many", "per_page"), ("modified_after=yesterday",
                                                         "modified_after")):
        bad = client.get(f"/oruk/services?{query}")
        assert bad.status_code == 400 and bad.get_json()["field"] == field
    beyond = client.get("/oruk/services?page=99").get_json()
    assert beyond["contents"] == [] and beyond["last_page"] and not beyond["empty"]
