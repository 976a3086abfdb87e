"""Open Referral UK: parsing recorded services, and paging/incremental runs on a local server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from assetmap.schedule import LONDON, next_sessions
from scrapers.openreferral import OpenReferralScraper, services_endpoint
from scrapers.records import ActivityRecord, EmptyFeed, FeedFormatError, ParseIssue

API = "https://directory.example.org/api/services"


def page_with_details(recorded, number: int) -> dict:
    """A list page with list items replaced by their full services, as fetch() builds it."""
    listing = json.loads(recorded(f"openreferral/services-page-{number}.json"))
    full = []
    for item in listing["contents"]:
        try:
            full.append(json.loads(recorded(f"openreferral/service-{item.get('id')}.json")))
        except FileNotFoundError:
            full.append(item)
    return {**listing, "contents": full}


def parse(data) -> list:
    return list(OpenReferralScraper().parse(data, base_url=API + "?page=1"))


def records(items: list) -> dict[str, ActivityRecord]:
    return {i.external_id: i for i in items if isinstance(i, ActivityRecord)}


def test_lunch_club_schedule_cost_location_access_and_assurance(recorded):
    lunch = records(parse(page_with_details(recorded, 1)))["svc-lunch-ktcc"]

    assert lunch.name == "Kentish Town Lunch Club" and lunch.category == "lunch-club"
    (rule,) = lunch.schedules
    assert (rule.kind, rule.days, rule.start_time, rule.end_time, rule.valid_from) == (
        "weekly", ("WE",), time(12), time(14), date(2026, 1, 7))
    assert (lunch.cost_kind, lunch.cost_amount) == ("amount", Decimal("4.50"))
    assert lunch.cost_text == "Two-course lunch, per person: £4.50"
    assert lunch.age_min == 60 and "over-50s" in lunch.tags
    assert {"step-free", "accessible-toilet", "hearing-loop"} <= lunch.tags
    assert lunch.assured_date == date(2026, 1, 15)
    assert lunch.modified == datetime(2026, 1, 15, 9, 12, tzinfo=UTC)
    venue = lunch.venue
    assert (venue.external_id, venue.name, venue.address, venue.postcode) == (
        "loc-ktcc", "Kentish Town Community Centre", "17 Busby Place, London", "NW5 2SP")
    assert (venue.lat, venue.lon) == (51.5497, -0.1334)
    assert lunch.contact.phone == "020 7000 0102"  # the contact's phone, not the centre's
    assert lunch.organisation.phone == "020 7000 0101"
    assert lunch.source_url == f"{API}/svc-lunch-ktcc"


def test_free_walk_and_a_negative_access_statement(recorded):
    walk = records(parse(page_with_details(recorded, 1)))["svc-walk-regents"]
    assert walk.cost_kind == "free" and "free" in walk.tags
    assert walk.category == "walking-group"
    assert walk.venue.accessibility == {"step_free": "no"}
    assert "step-free" not in walk.tags


def test_tea_dance_first_monday_and_last_friday_from_fees_text(recorded):
    tea = records(parse(page_with_details(recorded, 2)))["svc-tea-dance"]
    first, last = tea.schedules
    assert (first.kind, first.days, first.positions) == ("monthly", ("MO",), (1,))
    assert (last.kind, last.days, last.positions) == ("monthly", ("FR",), (-1,))
    sessions = next_sessions(tea.schedules, datetime(2026, 2, 1, tzinfo=LONDON), count=3)
    assert [s.start.date() for s in sessions] == [
        date(2026, 2, 2), date(2026, 2, 27), date(2026, 3, 2)]
    assert (tea.cost_kind, tea.cost_amount) == ("amount", Decimal("3.00"))
    assert {"over-50s", "wheelchair-accessible", "dementia-friendly"} <= tea.tags
    # HSDS languages become codes (the old single "languages-spoken" tag is retired)
    assert tea.languages == ("en", "bn") and "languages-spoken" not in tea.tags
    assert tea.age_max == 120


def test_fortnightly_shed_donation_extra_places_and_unsupported_schedule(recorded):
    items = parse(page_with_details(recorded, 2))
    shed = records(items)["svc-mens-shed"]
    (rule,) = shed.schedules
    assert (rule.days, rule.interval, rule.valid_from) == (("TH",), 2, date(2026, 1, 8))
    sessions = next_sessions(shed.schedules, datetime(2026, 1, 9, tzinfo=LONDON), count=2)
    assert [s.start.date() for s in sessions] == [date(2026, 1, 22), date(2026, 2, 5)]
    assert (shed.cost_kind, shed.cost_amount) == ("small-fee", Decimal("2.00"))
    assert shed.category == "mens-group" and "online-option" in shed.tags
    assert shed.venue.name == "Holmes Road Depot workshop" and not shed.online
    warnings = [i.message for i in items if isinstance(i, ParseIssue)]
    assert any("runs at 2 places" in w for w in warnings)
    assert any("day-of-month" in w for w in warnings)


def test_defunct_service_is_deleted_and_an_id_less_one_is_skipped(recorded):
    items = parse(page_with_details(recorded, 3))
    assert records(items)["svc-knit-natter"].deleted
    (issue,) = [i for i in items if isinstance(i, ParseIssue)]
    assert issue.level == "skipped" and "without an id" in issue.message


def test_profile_example_with_impossible_coordinates(recorded):
    example = {"id": "ac1", "name": "Community Counselling", "status": "active",
               "service_at_locations": [{"id": "s", "location": {
                   "id": "l", "name": "MyCity Civic Center", "latitude": 100, "longitude": 101,
                   "addresses": [{"address_1": "1-30 Main Street", "city": "MyCity",
                                  "postal_code": "ABC 1234"}]}}],
               "schedules": [{"freq": "WEEKLY", "byday": "TH,FR", "bymonthday": "2,3,4",
                              "opens_at": "10:00:00", "closes_at": "18:00:00"}]}
    items = parse(example)
    service = records(items)["ac1"]
    assert service.venue.lat is None  # latitude 100 is not on Earth
    assert service.venue.address == "1-30 Main Street, MyCity, ABC 1234"
    assert service.schedules[0].days == ("TH", "FR")
    assert any("bymonthday" in i.message for i in items if isinstance(i, ParseIssue))


def test_a_schedule_given_only_as_text_is_read_with_the_schedule_parser():
    service = {"id": "x", "name": "Knit and natter",
               "schedules": [{"description": "Tuesdays 10:00-12:00"}]}
    (rule,) = records(parse(service))["x"].schedules
    assert (rule.days, rule.start_time) == (("TU",), time(10))


def test_services_endpoint_from_base_or_service_urls():
    assert services_endpoint("https://x.org/api/") == "https://x.org/api/services"
    assert services_endpoint("https://x.org/api/services?page=2") == "https://x.org/api/services"
    assert services_endpoint("https://x.org/api/services/abc") == "https://x.org/api/services"


def test_parse_rejects_something_else():
    with pytest.raises(FeedFormatError, match="neither a page of services"):
        parse({"hello": "world"})


# -- fetch against a local server ----------------------------------------------------------

START = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def serve_api(server) -> None:
    def services(seen):
        query = seen.query
        if "modified_after" in query:
            return server.reply(body=server.recorded("openreferral/services-modified.json"))
        number = query.get("page", ["1"])[0]
        return server.reply(body=server.recorded(f"openreferral/services-page-{number}.json"))

    server.route("/api/services", services)
    for service in ("svc-lunch-ktcc", "svc-tea-dance", "svc-mens-shed"):
        server.serve(f"/api/services/{service}", f"openreferral/service-{service}.json")


def scraper() -> OpenReferralScraper:
    return OpenReferralScraper(per_page=2, clock=lambda: START)


def test_full_run_pages_fetches_details_and_saves_modified_after(feed_server, polite_client):
    serve_api(feed_server)
    pages = list(scraper().fetch(polite_client, feed_server.url("/api/"), {}))

    assert len(pages) == 3
    assert [p.state for p in pages] == [
        {"page": 2, "run_started": "2026-02-01T09:00:00Z"},
        {"page": 3, "run_started": "2026-02-01T09:00:00Z"},
        {"modified_after": "2026-02-01T08:50:00Z"}]
    details = sorted(r.path for r in feed_server.hits("/api/services/"))
    # The walk came fully nested; the defunct service has no detail page (404, kept as listed).
    assert details == ["/api/services/svc-knit-natter", "/api/services/svc-lunch-ktcc",
                       "/api/services/svc-mens-shed", "/api/services/svc-tea-dance"]
    found = [r for p in pages for r in scraper().parse(p.raw, base_url=p.url)]
    lunch = records(found)["svc-lunch-ktcc"]
    assert lunch.schedules and lunch.source_url == feed_server.url("/api/services/svc-lunch-ktcc")
    assert records(found)["svc-knit-natter"].deleted
    assert feed_server.hits("/api/services?")[0].query["per_page"] == ["2"]


def test_incremental_run_asks_for_changes_since_the_last_run(feed_server, polite_client):
    serve_api(feed_server)
    state = {"modified_after": "2026-01-20T08:50:00Z"}
    pages = list(scraper().fetch(polite_client, feed_server.url("/api/services"), state))

    (listing,) = feed_server.hits("/api/services?")
    assert listing.query["modified_after"] == ["2026-01-20T08:50:00Z"]
    assert pages[-1].state == {"modified_after": "2026-02-01T08:50:00Z"}
    (lunch,) = [r for r in scraper().parse(pages[0].raw, base_url=pages[0].url)]
    assert lunch.cost_amount == Decimal("5.00")
    assert not feed_server.hits("/api/services/")  # the changed service came nested


def test_a_run_stopped_midway_resumes_at_the_next_page(feed_server, polite_client):
    serve_api(feed_server)
    state = {"page": 3, "run_started": "2026-01-31T23:00:00Z"}
    pages = list(scraper().fetch(polite_client, feed_server.url("/api/services"), state))

    assert [p.raw["page_number"] for p in pages] == [3]
    assert pages[-1].state == {"modified_after": "2026-01-31T22:50:00Z"}


def test_an_empty_directory_on_a_full_run_is_an_error(feed_server, polite_client):
    feed_server.route("/api/services", feed_server.reply(
        body=b'{"total_items": 0, "total_pages": 0, "page_number": 1, "contents": []}'))
    with pytest.raises(EmptyFeed, match="lists no services"):
        list(scraper().fetch(polite_client, feed_server.url("/api"), {}))
