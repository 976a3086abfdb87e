"""OpenActive RPDE: parsing recorded pages, and paging/resuming against a local server."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

import pytest

from assetmap.schedule import LONDON, next_sessions
from scrapers.openactive import OpenActiveScraper
from scrapers.records import ActivityRecord, EmptyFeed, FeedFormatError, ParseIssue

FEED = "https://opendata.example.org/feeds/session-series"


def parse_page(recorded, number: int) -> list:
    return list(OpenActiveScraper().parse(recorded(f"openactive/page-{number}.json"),
                                          base_url=FEED))


def by_id(items: list) -> dict[str, ActivityRecord]:
    return {i.external_id: i for i in items if isinstance(i, ActivityRecord)}


def test_session_series_with_weekly_schedule_and_exception(recorded):
    records = by_id(parse_page(recorded, 1))
    series = records["tlqi1kkclv66"]

    assert series.name == "No Strings Badminton - Thursday daytime"
    assert series.raw_kind == "SessionSeries" and series.category == "sport"
    assert series.uri == "https://playwaze.com/SessionSeries/tlqi1kkclv66"
    (rule,) = series.schedules
    assert (rule.kind, rule.days, rule.start_time, rule.end_time) == (
        "weekly", ("TH",), time(11), time(14))
    assert (rule.valid_from, rule.valid_to) == (date(2020, 1, 2), date(2020, 12, 4))
    # exceptDate 2020-07-23T11:00Z is noon BST on the 23rd.
    assert rule.except_dates == (date(2020, 7, 23),)
    assert series.cost_kind == "free" and "free" in series.tags
    assert (series.venue.lat, series.venue.lon) == (52.0406224, -0.7594171)
    assert series.venue.name is None  # the publisher put coordinates in the name
    assert series.organisation.name == "National Badminton Centre, Milton Keynes"


def test_scheduled_session_is_a_one_off_that_points_at_its_series(recorded):
    session = by_id(parse_page(recorded, 1))["bzncxfzk8oe"]
    (rule,) = session.schedules
    assert (rule.kind, rule.on_date, rule.start_time, rule.end_time) == (
        "once", date(2019, 11, 28), time(19), time(23))
    assert session.part_of == "https://playwaze.com/SessionSeries/jifgh8dinma"
    assert session.raw_kind == "ScheduledSession"


def test_made_up_tea_dance_first_monday_ages_access_cost_and_address(recorded):
    tea = by_id(parse_page(recorded, 2))["somers-town-tea-dance"]

    assert tea.category == "tea-dance"
    (rule,) = tea.schedules
    assert (rule.kind, rule.days, rule.positions) == ("monthly", ("MO",), (1,))
    assert (rule.start_time, rule.end_time) == (time(14), time(16))
    assert rule.except_dates == (date(2026, 4, 6),)
    upcoming = next_sessions(tea.schedules, datetime(2026, 3, 10, tzinfo=LONDON), count=2)
    # April's first Monday (Easter Monday) is excepted.
    assert [s.start.date() for s in upcoming] == [date(2026, 5, 4), date(2026, 6, 1)]
    assert tea.age_min == 55 and tea.age_max is None
    assert {"over-50s", "wheelchair-accessible", "accessible-toilet"} <= tea.tags
    assert (tea.cost_kind, tea.cost_amount) == ("amount", Decimal("3.50"))
    venue = tea.venue
    assert (venue.name, venue.address, venue.postcode) == (
        "Somers Town Community Centre", "150 Ossulston Street, London", "NW1 1EE")
    assert venue.external_id == "STCC" and venue.accessibility["toilets_wheelchair"] == "yes"
    assert tea.organisation.email == "dance@stca.example.org"
    assert tea.contact.phone == "020 7000 0001"


def test_made_up_walk_fortnightly_women_only_free(recorded):
    walk = by_id(parse_page(recorded, 2))["womens-wellbeing-walk"]
    (rule,) = walk.schedules
    assert (rule.kind, rule.days, rule.interval) == ("weekly", ("WE",), 2)
    assert (rule.start_time, rule.end_time) == (time(10, 30), time(11, 30))  # from PT1H
    assert walk.gender == "female" and {"women-only", "free"} <= walk.tags
    assert walk.category == "walking-group"
    assert walk.venue.postcode == "NW1 4NU"
    assert walk.venue.address == "The Hub, Regent's Park, London"


def test_event_takes_name_organiser_and_ages_from_its_super_event(recorded):
    event = by_id(parse_page(recorded, 2))["00620dd0cea2a867dd4eadc8da9983f6dbe31c1e"]
    assert event.name == "WOD Class" and event.organisation.name == "CrossFit Fierce Spirit"
    assert event.age_min == 14 and event.cost_amount == Decimal("5.00")
    (rule,) = event.schedules
    assert (rule.on_date, rule.start_time, rule.end_time) == (date(2020, 7, 4), time(8), time(9))
    assert event.venue.postcode == "CW12 1QU"
    assert event.venue.address == "Unit 5B Thomas Street, Congleton, Cheshire"
    assert event.modified == datetime.fromisoformat("2020-07-10T14:44:38.042+00:00")


def test_online_course_and_facility_opening_hours(recorded):
    records = by_id(parse_page(recorded, 2))
    course = records["311870"]
    assert course.online and "online-option" in course.tags
    assert course.organisation.phone == "0300 303 3866"
    assert course.schedules[0].days == ("FR",)

    creche = records["ESGCRECHE352"]
    assert creche.cost_amount == Decimal("5.75")  # adult price, not the children's 3.15
    weekdays = {r.days: (r.start_time, r.end_time) for r in creche.schedules}
    assert weekdays[("MO", "WE", "TH")] == (time(9), time(12, 59))


def test_nameless_session_of_a_series_published_separately(recorded):
    series = by_id(parse_page(recorded, 2))["HRES0001802"]
    session = by_id(parse_page(recorded, 3))["11575967"]
    assert series.name == "Shadow Box Fit" and series.category == "exercise-class"
    assert session.name == "" and session.part_of == series.uri
    (rule,) = session.schedules
    # 08:15Z is 09:15 in British Summer Time; the series says Mondays 09:15-10:00.
    assert (rule.on_date, rule.start_time, rule.end_time) == (date(2020, 7, 27), time(9, 15),
                                                              time(10))
    assert series.schedules[0].days == ("MO",)
    assert (series.cost_kind, series.cost_amount) == ("amount", Decimal("6.90"))


def test_deleted_items_bad_items_and_slots(recorded):
    items = parse_page(recorded, 3)
    tombstone = by_id(items)["jifgh8dinma"]
    assert tombstone.deleted and tombstone.name == ""
    issues = [i for i in items if isinstance(i, ParseIssue)]
    assert {(i.external_id, i.level) for i in issues} == {("broken-1", "skipped"),
                                                           ("33e68d92", "skipped")}
    assert "no name" in next(i.message for i in issues if i.external_id == "broken-1")
    headline = by_id(items)["6302"]
    assert headline.schedules[0].on_date == date(2016, 6, 18)


def test_records_are_stable_between_parses(recorded):
    first, second = parse_page(recorded, 2), parse_page(recorded, 2)
    assert first == second
    assert {r.fingerprint() for r in first} == {r.fingerprint() for r in second}
    assert len(set(first)) == len(first)  # hashable


@pytest.mark.parametrize("item", [
    "not an object",
    {"state": "updated", "kind": "SessionSeries", "data": {"name": "No id"}},
    {"state": "updated", "id": "x", "data": ["a", "list"]},
    {"state": "updated", "id": "x", "data": {"@type": "SessionSeries", "name": {"en": "?"}}},
    {"state": "future", "id": "x", "data": {"name": "Unknown state"}},
])
def test_malformed_items_are_reported_not_fatal(item):
    good = {"state": "updated", "id": "ok", "kind": "Event",
            "data": {"@type": "Event", "name": "Bingo", "startDate": "2026-01-07T14:00:00Z"}}
    issue, record = OpenActiveScraper().parse({"items": [item, good], "next": FEED},
                                              base_url=FEED)
    assert isinstance(issue, ParseIssue) and issue.level == "skipped"
    assert record.name == "Bingo" and record.schedules[0].start_time == time(14)


def test_parse_rejects_a_page_that_is_not_rpde():
    with pytest.raises(FeedFormatError, match="not an RPDE page"):
        list(OpenActiveScraper().parse(b'{"data": []}', base_url=FEED))
    with pytest.raises(FeedFormatError, match="truncated"):
        list(OpenActiveScraper().parse(b'{"items": [{"id": "a"', base_url=FEED))


# -- fetch against a local server ----------------------------------------------------------

def serve_feed(server) -> list[str]:
    """Serve the four recorded pages; returns their URLs in order."""
    paths = ["/feeds/session-series",
             "/feeds/session-series?afterTimestamp=1580293007248&afterId=tlqi1kkclv66",
             "/feeds/session-series?afterTimestamp=1767700000000&afterId=womens-wellbeing-walk",
             "/feeds/session-series?afterTimestamp=1767800000004&afterId=11575967"]
    for number, path in enumerate(paths, start=1):
        server.serve(path, f"openactive/page-{number}.json")
    return [server.url(p) for p in paths]


def test_fetch_follows_next_to_the_end_of_the_feed(feed_server, polite_client):
    urls = serve_feed(feed_server)
    scraper = OpenActiveScraper()

    pages = list(scraper.fetch(polite_client, urls[0], {}))

    assert [p.url for p in pages] == urls
    assert [p.state for p in pages] == [{"next": u} for u in urls[1:]] + [{"next": urls[3]}]
    records = [r for p in pages for r in scraper.parse(p.raw, base_url=p.url)
               if isinstance(r, ActivityRecord)]
    assert len(records) == 12 and sum(r.deleted for r in records) == 1


def test_a_run_killed_halfway_resumes_after_the_last_committed_page(feed_server, polite_client):
    urls = serve_feed(feed_server)
    scraper = OpenActiveScraper()
    committed: dict = {}
    for page in scraper.fetch(polite_client, urls[0], committed):
        list(scraper.parse(page.raw, base_url=page.url))
        committed = dict(page.state)
        break  # the process dies after committing page 1

    before = len(feed_server.requests)
    resumed = list(scraper.fetch(polite_client, urls[0], committed))

    assert [p.url for p in resumed] == urls[1:]
    assert [r.path for r in feed_server.requests[before:]] == [
        u.removeprefix(feed_server.base) for u in urls[1:]]


def test_the_next_poll_starts_at_the_last_page_and_finds_nothing(feed_server, polite_client):
    urls = serve_feed(feed_server)
    pages = list(OpenActiveScraper().fetch(polite_client, urls[0], {"next": urls[3]}))
    assert len(pages) == 1 and pages[0].raw["items"] == []
    assert pages[0].state == {"next": urls[3]}


def test_max_pages_bounds_a_run(feed_server, polite_client):
    urls = serve_feed(feed_server)
    pages = list(OpenActiveScraper(max_pages=2).fetch(polite_client, urls[0], {}))
    assert pages[-1].state == {"next": urls[2]}


def test_an_empty_feed_on_a_first_run_is_an_error(feed_server, polite_client):
    feed_server.route("/empty", feed_server.reply(
        body=b'{"items": [], "next": "/empty"}', headers={"Content-Type": "application/json"}))
    with pytest.raises(EmptyFeed, match="no items on a first run"):
        list(OpenActiveScraper().fetch(polite_client, feed_server.url("/empty"), {}))


def test_a_page_without_next_is_a_format_error(feed_server, polite_client):
    feed_server.route("/feed", feed_server.reply(
        body=b'{"items": [{"id": 1}]}', headers={"Content-Type": "application/json"}))
    with pytest.raises(FeedFormatError, match="without a 'next' URL"):
        list(OpenActiveScraper().fetch(polite_client, feed_server.url("/feed"), {}))
