"""iCalendar: recurrence, exceptions, overrides and time zones on recorded calendars."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from assetmap.schedule import LONDON, next_sessions, occurrences
from scrapers.ical import ICalScraper
from scrapers.records import ActivityRecord, EmptyFeed, FeedFormatError, ParseIssue

URL = "https://calendar.example.org/camden.ics"


def parse(recorded, name: str) -> list:
    return list(ICalScraper().parse(recorded(f"ical/{name}"), base_url=URL))


def records(items: list) -> dict[str, ActivityRecord]:
    return {i.external_id: i for i in items if isinstance(i, ActivityRecord)}


@pytest.fixture
def camden(recorded) -> list:
    return parse(recorded, "camden-community.ics")


def test_first_monday_with_exdate_location_and_organiser(camden):
    tea = records(camden)["tea-dance@stca.example.org"]
    (rule,) = tea.schedules
    assert (rule.kind, rule.days, rule.positions, rule.start_time, rule.end_time) == (
        "monthly", ("MO",), (1,), time(14), time(16))
    assert rule.except_dates == (date(2026, 4, 6),) and rule.valid_from == date(2026, 1, 5)
    assert tea.category == "tea-dance" and tea.raw_kind == "VEVENT"
    assert tea.source_url == "https://calendar.example.org/events/tea-dance"
    assert tea.organisation.email == "dance@stca.example.org"
    venue = tea.venue
    assert (venue.name, venue.address, venue.postcode, venue.lat, venue.lon) == (
        "Somers Town Community Centre", "150 Ossulston Street, London", "NW1 1EE",
        51.5306, -0.1317)
    assert tea.modified == datetime(2025, 12, 20, 10, 15, tzinfo=UTC)


def test_moved_occurrence_becomes_an_exception_and_a_one_off(camden):
    lunch = records(camden)["lunch-club@ktcc.example.org"]
    weekly, moved = lunch.schedules
    assert weekly.days == ("WE",) and weekly.except_dates == (date(2026, 2, 25),)
    assert weekly.valid_to == date(2026, 7, 1)  # UNTIL 11:00Z is 12:00 BST, inclusive
    assert (moved.kind, moved.on_date, moved.start_time) == ("once", date(2026, 2, 26),
                                                             time(12))
    week = occurrences(lunch.schedules, datetime(2026, 2, 23, tzinfo=LONDON),
                       datetime(2026, 3, 1, tzinfo=LONDON))
    assert [s.start.date() for s in week] == [date(2026, 2, 26)]
    assert lunch.name == "Kentish Town Lunch Club"  # the master's summary, not the override's


def test_interval_and_count_give_the_last_date(camden):
    walk = records(camden)["health-walk@walks.example.org"]
    (rule,) = walk.schedules
    assert (rule.days, rule.interval, rule.valid_to) == (("WE",), 2, date(2026, 3, 25))
    assert (rule.start_time, rule.end_time) == (time(10, 30), time(11, 45))  # DURATION
    assert walk.venue.postcode == "NW5 1QR" and walk.venue.lat is None


def test_last_friday_with_a_cancelled_occurrence(camden):
    karaoke = records(camden)["karaoke@castlehaven.example.org"]
    (rule,) = karaoke.schedules
    assert (rule.days, rule.positions) == (("FR",), (-1,))
    assert rule.except_dates == (date(2026, 2, 27),)
    sessions = next_sessions(karaoke.schedules, datetime(2026, 2, 1, tzinfo=LONDON), count=2)
    assert [s.start.date() for s in sessions] == [date(2026, 3, 27), date(2026, 4, 24)]


def test_bysetpos_second_thursday(camden):
    (rule,) = records(camden)["book-club@library.example.org"].schedules
    assert (rule.kind, rule.days, rule.positions) == ("monthly", ("TH",), (2,))


def test_rdates_become_one_off_sessions(camden):
    dropin = records(camden)["digital-dropin@library.example.org"]
    assert [(r.kind, r.on_date, r.start_time, r.end_time) for r in dropin.schedules] == [
        ("once", date(2026, 2, 3), time(10), time(12)),
        ("once", date(2026, 3, 3), time(10), time(12)),
        ("once", date(2026, 4, 7), time(10), time(12))]
    assert dropin.category == "digital-help"


def test_cancelled_private_and_nameless_events(camden):
    assert records(camden)["xmas-party@ktcc.example.org"].deleted
    issues = {i.external_id: i for i in camden if isinstance(i, ParseIssue)}
    assert set(issues) == {"committee@ktcc.example.org", "nameless@ktcc.example.org"}
    assert all(i.level == "skipped" for i in issues.values())
    assert "Trustees" not in str(records(camden))


def test_berlin_time_after_midnight_is_the_previous_day_in_london(recorded):
    # Weekly on Monday 00:30 Europe/Berlin is Sunday 23:30 in London; COUNT=8 and one EXDATE.
    (record,) = parse(recorded, "each_week_but_one_deleted.ics")
    (rule,) = record.schedules
    assert (rule.days, rule.start_time, rule.end_time) == (("SU",), time(23, 30), time(0, 0))
    assert rule.except_dates == (date(2019, 3, 10),)
    assert (rule.valid_from, rule.valid_to) == (date(2019, 3, 3), date(2019, 4, 21))
    sessions = occurrences([rule], datetime(2019, 3, 1, tzinfo=LONDON),
                           datetime(2019, 5, 1, tzinfo=LONDON))
    assert len(sessions) == 7  # eight by COUNT, one excepted


def test_cancelled_recurrence_is_an_exception(recorded):
    (record,) = parse(recorded, "issue_18_cancel_status.ics")
    (rule,) = record.schedules
    assert rule.kind == "daily" and rule.except_dates == (date(2020, 1, 29),)
    assert (rule.valid_from, rule.valid_to) == (date(2020, 1, 28), date(2020, 1, 30))


def test_moved_and_resized_occurrences(recorded):
    changed = records(parse(recorded, "recurring_events_changed_duration.ics"))
    series = changed["a0c78729-30b1-4ba3-a86e-6aedd995d788"].schedules
    daily = series[0]
    assert daily.except_dates == (date(2019, 3, 8), date(2019, 3, 9), date(2019, 3, 10))
    assert [(r.on_date, r.start_time, r.end_time) for r in series[1:]] == [
        (date(2019, 3, 8), time(0), time(2)),     # 01:00-03:00 Berlin
        (date(2019, 3, 9), time(2), time(2, 30)),  # shortened to half an hour
        (date(2019, 3, 10), None, None)]           # became an all-day event
    # An override that only renames an occurrence changes no dates.
    (unchanged,) = changed["5d4c6843-9300-4f91-8d88-6094d4b0b840"].schedules
    assert unchanged.except_dates == ()


def test_rdate_overlapping_the_rule_or_excluded_is_not_added(recorded):
    overlap, excluded, single = parse(recorded, "rdate.ics")
    assert [r.kind for r in overlap.schedules] == ["daily"]
    assert excluded.schedules[0].except_dates == (date(2015, 7, 5),)
    assert [r.kind for r in excluded.schedules] == ["daily"]
    assert [(r.kind, r.on_date) for r in single.schedules] == [("once", date(2024, 8, 3))]


def test_rdates_keep_their_length_across_summer_time(recorded):
    (news,) = parse(recorded, "rdate_hackerpublicradio.ics")
    times = {r.on_date: (r.start_time, r.end_time) for r in news.schedules}
    assert len(times) == 12
    assert times[date(2013, 8, 31)] == (time(20), time(22))  # 19:00Z in BST
    assert times[date(2014, 1, 4)] == (time(19), time(21))   # 19:00Z in GMT


def test_utc_times_are_converted_to_london_not_x_wr_timezone(recorded):
    first, second = parse(recorded, "x_wr_timezone_simple_events_issue_59.ics")
    assert (first.schedules[0].on_date, first.schedules[0].start_time) == (
        date(2021, 12, 22), time(17))
    assert (second.schedules[0].on_date, second.schedules[0].start_time) == (
        date(2021, 12, 23), time(2))


def test_floating_times_use_x_wr_timezone():
    calendar = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nX-WR-TIMEZONE:America/New_York\r\n"
                b"BEGIN:VEVENT\r\nUID:a\r\nSUMMARY:Choir\r\nDTSTART:20260115T190000\r\n"
                b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    (record,) = ICalScraper().parse(calendar, base_url=URL)
    assert (record.schedules[0].on_date, record.schedules[0].start_time) == (
        date(2026, 1, 16), time(0))
    assert record.category == "singing"


def test_all_day_and_duration_events(recorded):
    three_days, three_hours, no_end = parse(recorded, "duration.ics")
    assert (three_days.schedules[0].on_date, three_days.schedules[0].start_time) == (
        date(2018, 1, 10), None)
    assert (three_hours.schedules[0].start_time, three_hours.schedules[0].end_time) == (
        time(10), time(13))
    assert no_end.schedules[0].end_time is None
    (daily,) = parse(recorded, "one_day_event_repeat_every_day.ics")
    assert daily.schedules[0].kind == "daily" and daily.schedules[0].start_time is None


def test_real_community_calendar_monthly_repair_cafe_with_geo(recorded):
    found = records(parse(recorded, "fablab_cottbus.ics"))
    repair = next(r for r in found.values() if r.name == "Repair Café")
    (rule,) = repair.schedules
    assert (rule.kind, rule.days, rule.positions, rule.start_time) == (
        "monthly", ("SA",), (1,), time(13))
    assert repair.category == "repair-cafe"
    assert (repair.venue.lat, repair.venue.lon) == (51.76882, 14.32321)
    assert repair.source_url == "http://blog.fablab-cottbus.de/Veranstaltung/repair-cafe-2/"


def test_a_broken_event_is_skipped_and_the_rest_kept():
    calendar = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                b"BEGIN:VEVENT\r\nUID:bad\r\nSUMMARY:Bad date\r\nDTSTART:2026013\r\n"
                b"END:VEVENT\r\n"
                b"BEGIN:VEVENT\r\nUID:good\r\nSUMMARY:Bingo\r\nDTSTART:20260115T140000\r\n"
                b"RRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    bad, good, note = ICalScraper().parse(calendar, base_url=URL)
    assert (bad.external_id, bad.level) == ("bad", "skipped") and "DTSTART" in bad.message
    assert good.category == "bingo" and good.schedules[0].on_date == date(2026, 1, 15)
    assert note.level == "warning" and "yearly" in note.message


def test_dates_exported_as_separate_events_with_one_uid_are_one_activity():
    calendar = (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                b"BEGIN:VEVENT\r\nUID:lunch\r\nSUMMARY:Lunch\r\nDTSTART:20260107T120000\r\n"
                b"END:VEVENT\r\n"
                b"BEGIN:VEVENT\r\nUID:lunch\r\nSUMMARY:Lunch\r\nDTSTART:20260114T120000\r\n"
                b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    (record,) = ICalScraper().parse(calendar, base_url=URL)
    assert [r.on_date for r in record.schedules] == [date(2026, 1, 7), date(2026, 1, 14)]


def test_unreadable_calendar_is_a_format_error():
    with pytest.raises(FeedFormatError, match="not a readable iCalendar"):
        list(ICalScraper().parse(b"BEGIN:VCALENDAR\r\nthis is not ical", base_url=URL))


# -- fetch against a local server ----------------------------------------------------------

def test_fetch_then_not_modified_on_the_next_run(feed_server, polite_client):
    feed_server.serve("/camden.ics", "ical/camden-community.ics",
                      content_type="text/calendar; charset=utf-8", etag='"2026-01"')
    url = feed_server.url("/camden.ics")
    scraper = ICalScraper()

    (page,) = scraper.fetch(polite_client, url, {})
    assert page.state == {"http_cache": {url: {"etag": '"2026-01"'}}}
    assert len(records(list(scraper.parse(page.raw, base_url=page.url)))) == 7

    assert list(scraper.fetch(polite_client, url, page.state)) == []
    assert feed_server.hits("/camden.ics")[-1].headers["If-None-Match"] == '"2026-01"'


def test_fetch_rejects_a_web_page_and_a_cut_calendar(feed_server, polite_client):
    feed_server.route("/page.ics", feed_server.reply(body=b"<html><body>Moved</body></html>",
                                                     headers={"Content-Type": "text/html"}))
    feed_server.route("/cut.ics", feed_server.reply(
        body=b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n"))
    with pytest.raises(FeedFormatError, match="an HTML page where an iCalendar file"):
        list(ICalScraper().fetch(polite_client, feed_server.url("/page.ics"), {}))
    with pytest.raises(FeedFormatError, match="truncated"):
        list(ICalScraper().fetch(polite_client, feed_server.url("/cut.ics"), {}))


def test_fetch_an_empty_calendar_is_an_error(feed_server, polite_client):
    feed_server.route("/empty.ics", feed_server.reply(
        body=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"))
    with pytest.raises(EmptyFeed):
        list(ICalScraper().fetch(polite_client, feed_server.url("/empty.ics"), {}))
