"""Feeds that publish places left or languages: OpenActive remainingAttendeeCapacity and ORUK
service_capacity / languages become the listing's intake and language codes."""

from __future__ import annotations

import copy
import json

import pytest

from assetmap.referral.intake import from_capacity
from scrapers.openactive import OpenActiveScraper
from scrapers.openreferral import OpenReferralScraper
from scrapers.records import ActivityRecord

OA_FEED = "https://opendata.example.org/feeds/session-series"
ORUK = "https://directory.example.org/api/services"


def _oa(recorded, number: int) -> dict[str, ActivityRecord]:
    items = OpenActiveScraper().parse(recorded(f"openactive/page-{number}.json"),
                                      base_url=OA_FEED)
    return {i.external_id: i for i in items if isinstance(i, ActivityRecord)}


def test_openactive_remaining_capacity_says_full_or_open(recorded):
    full = _oa(recorded, 2)["00620dd0cea2a867dd4eadc8da9983f6dbe31c1e"]
    assert full.intake == "full"  # remainingAttendeeCapacity 0
    assert _oa(recorded, 3)["11575967"].intake == "open"  # 21 places left
    # An item that does not publish it says nothing.
    assert _oa(recorded, 1)["tlqi1kkclv66"].intake is None


@pytest.mark.parametrize("raw, intake", [
    (0, "full"), (1, "few-places"), (3, "few-places"), (4, "open"), ("12", "open"),
    (-1, None), ("lots", None), (None, None), (True, None), ({"value": 3}, None)])
def test_places_left_to_intake(raw, intake):
    assert from_capacity(raw) == intake


def _tea_dance(recorded) -> dict:
    return json.loads(recorded("openreferral/service-svc-tea-dance.json"))


def _parse_one(service: dict) -> ActivityRecord:
    page = {"total_items": 1, "total_pages": 1, "page_number": 1, "size": 1,
            "first_page": True, "last_page": True, "empty": False, "contents": [service]}
    (record,) = [i for i in OpenReferralScraper().parse(page, base_url=ORUK + "?page=1")
                 if isinstance(i, ActivityRecord)]
    return record


@pytest.mark.parametrize("capacity, intake", [
    ([{"available": 0, "maximum": 40}], "full"),
    ({"available": 2, "maximum": 40}, "few-places"),
    ([{"maximum": 40}, {"available": 25}], "open"),
    ([], None)])
def test_oruk_service_capacity(recorded, capacity, intake):
    service = copy.deepcopy(_tea_dance(recorded))
    service["service_capacity"] = capacity
    assert _parse_one(service).intake == intake


def test_oruk_languages_by_code_or_name_and_unknown_ones_left_out(recorded):
    service = copy.deepcopy(_tea_dance(recorded))
    service["languages"] = [{"id": "1", "code": "so"}, {"id": "2", "name": "British Sign "
                                                        "Language"},
                            {"id": "3", "name": "Klingon"}, {"id": "4", "code": "bfi"}]
    record = _parse_one(service)
    assert record.languages == ("so", "bsl")


def test_records_refuse_unknown_intake_and_language_codes():
    with pytest.raises(ValueError, match="intake"):
        ActivityRecord("openactive", "x", "A group", intake="maybe")
    with pytest.raises(ValueError, match="language"):
        ActivityRecord("openactive", "x", "A group", languages=("xx",))
