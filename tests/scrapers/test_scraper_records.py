"""Records, the registry and the shared normalisation helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest

from assetmap.errors import ScheduleError
from assetmap.schedule import ScheduleRule
from assetmap.values import find_postcode
from scrapers import SCRAPERS
from scrapers.http import FetchResult, expect_json, sniff
from scrapers.normalise import (
    accessibility,
    age_range,
    cost_from_prices,
    cost_from_text,
    normalise_postcode,
    parse_price,
    parse_time,
    recurrence,
)
from scrapers.records import ActivityRecord, FeedFormatError, Flags, VenueRecord, fingerprint


def lunch_club(**changes) -> ActivityRecord:
    fields = {
        "source_type": "ical", "external_id": "lunch@example.org", "name": "Lunch club",
        "category": "lunch-club", "tags": {"over-50s", "free"}, "cost_kind": "free",
        "schedules": [ScheduleRule("weekly", time(12), time(14), days=("WE",))],
        "venue": VenueRecord("ical", name="Hall", accessibility={"wheelchair": "yes"},
                             lat=51.5, lon=-0.1),
        "modified": datetime(2026, 1, 1, tzinfo=UTC),
    }
    return ActivityRecord(**{**fields, **changes})


def test_records_are_frozen_hashable_and_compare_by_content():
    first, second = lunch_club(), lunch_club()
    assert first == second and hash(first) == hash(second) and len({first, second}) == 1
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() != lunch_club(name="Lunch Club").fingerprint()
    with pytest.raises(AttributeError):
        first.name = "x"  # type: ignore[misc]
    assert isinstance(first.tags, frozenset) and isinstance(first.schedules, tuple)
    assert first.venue.accessibility == Flags({"wheelchair": "yes"})


def test_fingerprint_is_stable_across_processes():
    # hash() of strings changes with PYTHONHASHSEED; the fingerprint must not.
    code = ("from scrapers.records import ActivityRecord as A; print(A('ical', 'x', 'Lunch', "
            "tags={'free', 'over-50s', 'drop-in'}).fingerprint())")
    root = Path(__file__).resolve().parents[2]
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=root, env={**os.environ, "PYTHONHASHSEED": seed}
                              ).stdout.strip() for seed in ("1", "2")}
    expected = ActivityRecord("ical", "x", "Lunch", tags={"free", "over-50s", "drop-in"})
    assert outputs == {expected.fingerprint()}


def test_to_dict_is_json_ready():
    data = lunch_club(cost_kind="amount", cost_amount=Decimal("3.5")).to_dict()
    assert data["cost_amount"] == "3.50" and data["tags"] == ["free", "over-50s"]
    assert data["schedules"][0]["start_time"] == "12:00:00"
    assert data["venue"]["accessibility"] == {"wheelchair": "yes"}
    json.dumps(data)
    assert fingerprint(VenueRecord("osm", "node/1", name="Hall"))


@pytest.mark.parametrize(("changes", "message"), [
    ({"name": " "}, "has no name"),
    ({"external_id": ""}, "external id"),
    ({"category": "knitting"}, "unknown category"),
    ({"tags": {"cheap"}}, "unknown tags"),
    ({"cost_kind": "cheap"}, "cost kind"),
    ({"age_min": 70, "age_max": 50}, "upside down"),
    ({"modified": datetime(2026, 1, 1)}, "timezone-aware"),
])
def test_invalid_records_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        lunch_club(**changes)


def test_tombstones_and_sessions_of_a_series_need_no_name():
    assert ActivityRecord.tombstone("openactive", "abc").deleted
    session = lunch_club(name="", part_of="https://example.org/series/1")
    assert session.part_of and session.name == ""


def test_venue_coordinates_are_checked():
    with pytest.raises(ValueError, match="both latitude and longitude"):
        VenueRecord("osm", lat=51.5)
    with pytest.raises(ValueError, match="not on Earth"):
        VenueRecord("osm", lat=100, lon=101)


def test_registry_names_every_scraper_with_fetch_and_parse():
    assert set(SCRAPERS) == {"openactive", "openreferral", "ical", "jsonld", "osm"}
    for name, cls in SCRAPERS.items():
        scraper = cls()
        assert scraper.source_type == name
        assert callable(scraper.fetch) and callable(scraper.parse)


def test_importing_the_scrapers_loads_no_parsing_library():
    code = ("import sys, scrapers; print(sorted(m for m in ('icalendar', 'lxml', 'osmium', "
            "'shapely', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def test_sniff_and_expect_json_on_recorded_bodies():
    def result(body: bytes, content_type: str = "") -> FetchResult:
        return FetchResult("https://x/feed", 200, body, {"Content-Type": content_type})

    assert sniff(result(b'\xef\xbb\xbf {"a": 1}', "text/html")) == "json"
    assert sniff(result(b"<!doctype html><p>hi")) == "html"
    assert sniff(result(b"BEGIN:VCALENDAR\r\n")) == "calendar"
    assert expect_json(result(b'\xef\xbb\xbf{"a": 1}')) == {"a": 1}
    with pytest.raises(FeedFormatError, match="empty body"):
        expect_json(result(b"  "))
    with pytest.raises(FeedFormatError, match="XML"):
        expect_json(result(b"<?xml version='1.0'?><feed/>", "application/xml"))
    with pytest.raises(FeedFormatError, match="not UTF-8"):
        expect_json(result(b'{"name": "caf\xe9"}'))


# -- normalise -----------------------------------------------------------------------------

def test_postcodes():
    assert normalise_postcode(" nw11ee ") == "NW1 1EE"
    assert normalise_postcode("80209") is None
    assert find_postcode("17 Busby Place, London NW5 2SP, UK") == "NW5 2SP"


def test_recurrence_mixed_positions_become_two_rules():
    first_monday, last_friday = recurrence(freq="MONTHLY", byday=["1MO", "-1FR"])
    assert (first_monday.days, first_monday.positions) == (("MO",), (1,))
    assert (last_friday.days, last_friday.positions) == (("FR",), (-1,))


def test_recurrence_count_and_plain_monthly_days():
    (rule,) = recurrence(freq="MONTHLY", byday=["1MO", "3MO"], valid_from=date(2026, 1, 1),
                         count=5)
    assert rule.positions == (1, 3) and rule.valid_to == date(2026, 3, 2)
    (every_tuesday,) = recurrence(freq="MONTHLY", byday=["TU"])
    assert every_tuesday.kind == "weekly"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"freq": "MONTHLY", "bymonthday": [15]}, "day-of-month"),
    ({"freq": "YEARLY", "byday": ["MO"]}, "yearly"),
    ({"freq": "WEEKLY"}, "no day"),
    ({"freq": "WEEKLY", "byday": ["Funday"]}, "not a day of the week"),
])
def test_recurrence_refuses_what_a_rule_cannot_say(kwargs, message):
    with pytest.raises(ScheduleError, match=message):
        recurrence(**kwargs)


def test_times_with_offsets():
    assert parse_time("10:00:00") == time(10)
    assert parse_time("10:00Z") == time(10)  # UK publishers mean local time
    assert parse_time("09:00-05:00", on=date(2026, 7, 1)) == time(15)  # EDT to BST
    with pytest.raises(ValueError):
        parse_time("half ten")


def test_costs():
    assert parse_price("Level 2 coach £6-00") == (Decimal("6"), "GBP")
    assert parse_price("$35") == (Decimal("35"), "USD")
    assert parse_price("50p") == (Decimal("0.5"), "GBP")
    offers = cost_from_prices([(5.75, "GBP", "Adult"), (3.15, "GBP", "Junior")])
    assert (offers.kind, offers.amount) == ("amount", Decimal("3.15"))
    assert cost_from_prices([(0, None, "Free option"), (7, "GBP", "Pay")]).kind == "free"
    assert cost_from_prices([("35", "USD", None)]).kind == "unknown"
    assert cost_from_text("Free, tea 50p").kind == "amount"
    assert cost_from_text("Free").kind == "free"
    assert cost_from_text("Donations welcome").kind == "small-fee"
    assert cost_from_text("Ring for prices").kind == "unknown"


def test_ages():
    assert age_range(60, None) == (60, None, frozenset({"over-50s"}))
    assert age_range(55, 120)[2] == frozenset({"over-50s"})
    assert age_range(50, 65)[2] == frozenset()
    assert age_range(16, None)[2] == frozenset()


def test_accessibility_reads_only_positive_statements():
    tags, flags = accessibility("Wheelchair access on all levels; induction loop fitted.")
    assert tags == {"wheelchair-accessible", "hearing-loop"}
    assert flags == {"wheelchair": "yes", "hearing_loop": "yes"}
    tags, flags = accessibility("No step-free access. Not wheelchair accessible.")
    assert tags == frozenset() and flags == {"step_free": "no", "wheelchair": "no"}
