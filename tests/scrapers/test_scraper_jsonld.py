"""JSON-LD and microdata in recorded web pages."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from scrapers.jsonld import JsonLdScraper
from scrapers.records import ActivityRecord, EmptyFeed, ParseIssue, VenueRecord

PAGE = "https://castlehaven.example.org/whats-on/"


def parse(recorded, name: str, base_url: str = PAGE) -> list:
    return list(JsonLdScraper().parse(recorded(f"html/{name}"), base_url=base_url))


def activities(items: list) -> list[ActivityRecord]:
    return [i for i in items if isinstance(i, ActivityRecord)]


@pytest.fixture
def camden(recorded) -> list:
    return parse(recorded, "camden-community-events.html")


def test_event_series_with_schedule_cost_ages_and_place(camden):
    yoga = next(a for a in activities(camden) if a.name == "Chair Yoga for Over-60s")
    assert yoga.external_id == "https://castlehaven.example.org/whats-on/chair-yoga"
    assert yoga.source_url == "https://castlehaven.example.org/whats-on/chair-yoga"
    (rule,) = yoga.schedules
    assert (rule.kind, rule.days, rule.start_time, rule.end_time) == (
        "weekly", ("TU",), time(10), time(11))
    assert rule.except_dates == (date(2026, 12, 29),) and rule.valid_from == date(2026, 1, 6)
    assert (yoga.cost_kind, yoga.cost_amount) == ("amount", Decimal("2.00"))
    assert yoga.age_min == 60 and "over-50s" in yoga.tags
    assert yoga.category == "yoga"
    assert (yoga.venue.postcode, yoga.venue.lat) == ("NW1 8RU", 51.5425)
    assert yoga.organisation.name == "Castlehaven Community Association"


def test_organisation_with_an_address_is_a_venue(camden):
    (venue,) = [i for i in camden if isinstance(i, VenueRecord)]
    assert venue.external_id == "https://castlehaven.example.org/#org"
    assert (venue.name, venue.address, venue.postcode) == (
        "Castlehaven Community Association", "21 Castlehaven Road, London", "NW1 8RU")
    assert venue.kind == "schema:NGO" and venue.phone == "020 7000 0303"


def test_block_with_a_comment_is_repaired_and_reported(camden):
    coffee = next(a for a in activities(camden) if a.name == "Summer Coffee Morning")
    (rule,) = coffee.schedules
    assert (rule.on_date, rule.start_time, rule.end_time) == (date(2026, 6, 13), time(10),
                                                              time(12))
    assert coffee.cost_kind == "free" and {"free", "online-option"} <= coffee.tags
    assert not coffee.online and coffee.venue.postcode == "NW1 8RU"
    assert coffee.category == "coffee-morning"
    messages = [i.message for i in camden if isinstance(i, ParseIssue)]
    assert any(m.startswith("JSON-LD block 2 had comments") for m in messages)
    assert any(m.startswith("JSON-LD block 3 skipped: invalid JSON") for m in messages)
    assert any("block 4 holds false" in m for m in messages)
    assert all(i.level == "warning" for i in camden if isinstance(i, ParseIssue))


def test_microdata_event(camden):
    dance = next(a for a in activities(camden) if a.name == "Tea Dance")
    assert dance.external_id == "https://castlehaven.example.org/whats-on/tea-dance-march"
    (rule,) = dance.schedules
    assert (rule.on_date, rule.start_time, rule.end_time) == (date(2026, 3, 2), time(14),
                                                              time(16))
    assert (dance.cost_kind, dance.cost_amount) == ("amount", Decimal("3.00"))
    assert (dance.venue.name, dance.venue.postcode) == ("Somers Town Community Centre",
                                                        "NW1 1EE")


def test_javascript_comment_fixture_is_repaired(recorded):
    items = parse(recorded, "invalid-jsonld-with-js-comment.html")
    (issue,) = items  # a NewsArticle: repaired, then nothing to map
    assert issue.level == "warning" and "comments or trailing commas" in issue.message


def test_schema_org_microdata_examples(recorded):
    (game,) = activities(parse(recorded, "schemaorg-microdata-Event.001.html"))
    assert game.name == "Miami Heat at Philadelphia 76ers - Game 3 (Home Game 1)"
    assert game.source_url == PAGE + "nba-miami-philidelphia-game3.html"
    assert game.venue.address == "Philadelphia, PA"
    assert game.cost_kind == "unknown" and game.cost_text == "35.00 USD"  # not pounds

    shows = activities(parse(recorded, "schemaorg-microdata-Event.002.html"))
    assert [(s.name, s.schedules[0].on_date) for s in shows] == [
        ("FedExForum", date(2011, 5, 20)), ("Mid America Center", date(2011, 5, 23))]

    (cancelled,) = activities(parse(recorded, "schemaorg-microdata-Event.004.html"))
    assert cancelled.deleted and cancelled.venue.address == "7 S. Broadway, Denver, CO, 80209"

    (globe,) = activities(parse(recorded, "schemaorg-microdata-Event.008.html"))
    assert globe.venue.name == "Shakespeare's Globe" and globe.venue.address == "London, UK"


def test_songkick_listing_with_many_blocks(recorded):
    events = activities(parse(recorded, "songkick-years-and-years-tour-dates-2015.html",
                              "https://www.songkick.com/artists/3976856-years-and-years"))
    assert len(events) == 13 and len({e.external_id for e in events}) == 13
    brixton = [e for e in events if e.venue.name == "O2 Academy Brixton"]
    assert [e.schedules[0].on_date for e in brixton] == [date(2015, 10, 27), date(2015, 10, 28)]
    assert brixton[0].venue.postcode == "SW9 9SL"
    assert brixton[0].venue.address == "211 Stockwell Road, London"
    assert brixton[0].schedules[0].start_time == time(19)  # 19:00+0000 in GMT


def test_utf8_page_without_early_charset(recorded):
    (event,) = activities(parse(recorded, "songkick-tovestyrke.html"))
    assert event.venue.name == "Hoxton Square Bar & Kitchen"
    assert event.venue.postcode == "N1 6NU"


def test_fetch_reads_the_page_and_remembers_validators(feed_server, polite_client):
    feed_server.serve("/whats-on/", "html/camden-community-events.html",
                      content_type="text/html; charset=utf-8", etag='"p1"')
    url = feed_server.url("/whats-on/")
    (page,) = JsonLdScraper().fetch(polite_client, url, {})
    found = list(JsonLdScraper().parse(page.raw, base_url=page.url))
    assert len(activities(found)) == 3
    assert list(JsonLdScraper().fetch(polite_client, url, page.state)) == []


def test_fetch_a_page_without_structured_data_is_an_error(feed_server, polite_client):
    feed_server.route("/plain", feed_server.reply(
        body=b"<html><body><p>Lunch club on Wednesdays</p></body></html>",
        headers={"Content-Type": "text/html"}))
    with pytest.raises(EmptyFeed, match="no schema.org markup"):
        list(JsonLdScraper().fetch(polite_client, feed_server.url("/plain"), {}))
