"""Request parsing at the edge (web/forms.py) and the typed constructors behind it: a bad value
names its field whether it came as query text or as a typed value (CLI, other services)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from assetmap.community.outbox import delivery_words
from assetmap.errors import ValidationError
from assetmap.listings.field_words import plain_value_words
from assetmap.listings.query import ActivityFilter
from assetmap.maps.points import MapView
from assetmap.matching.rank import MatchQuery, Origin
from assetmap.models import OutboxMessage
from assetmap.walking.graph import default_name
from assetmap.web import forms

HERE = Origin(51.5390, -0.1426, "lat-lon")


@pytest.mark.parametrize("kwargs, field", [
    ({"minutes": 0}, "minutes"), ({"minutes": 61}, "minutes"), ({"pace": "run"}, "pace"),
    ({"needs": ("wings",)}, "needs"), ({"interests": ("juggling",)}, "interests"),
    ({"day": "funday"}, "day"), ({"time_of_day": "midnight"}, "time"), ({"limit": 0}, "limit"),
    ({"language": "klingon"}, "language"),
])
def test_a_typed_search_names_the_bad_field(kwargs, field):
    with pytest.raises(ValidationError) as info:
        MatchQuery.checked(HERE, **kwargs)
    assert info.value.field == field


def test_query_text_and_typed_values_make_the_same_search():
    parsed = forms.match_query(
        {"lat": "51.539", "lon": "-0.1426", "minutes": "20", "pace": "slow",
         "needs": "step-free, ", "interests": "lunch-club", "day": " MON ", "time": "morning",
         "free": "yes", "limit": "7", "newcomers": "1"}, data_dir=Path("."), session=None)  # type: ignore[arg-type]
    typed = MatchQuery.checked(Origin(51.539, -0.1426, "lat-lon"), minutes=20, pace="slow",
                               needs=["step-free"], interests=["lunch-club"], day="mon",
                               time_of_day="morning", free_only=True, limit=7, newcomers=True)
    assert parsed == typed


@pytest.mark.parametrize("args, field", [
    ({"lat": "91", "lon": "0"}, "lat"), ({"lat": "51.5"}, "lon"), ({}, "postcode"),
    ({"lat": "51.5", "lon": "-0.1", "minutes": "ten"}, "minutes"),
    ({"lat": "51.5", "lon": "-0.1", "free": "maybe"}, "free"),
])
def test_query_text_names_the_parameter(args, field):
    with pytest.raises(ValidationError) as info:
        forms.match_query(args, data_dir=Path("."), session=None)  # type: ignore[arg-type]
    assert info.value.field == field


@pytest.mark.parametrize("raw", ["91,0", "51.5,", ","])
def test_a_route_origin_error_names_from(raw):
    with pytest.raises(ValidationError) as info:
        forms.route_query({"from": raw}, data_dir=Path("."), session=None)  # type: ignore[arg-type]
    assert info.value.field == "from"


def test_filters_and_map_views_check_typed_values():
    with pytest.raises(ValidationError) as info:
        ActivityFilter.checked(categories=["juggling"])
    assert info.value.field == "category"
    assert ActivityFilter.checked(statuses=["all"]).statuses == ("active", "paused", "ended",
                                                                  "pending")
    assert forms.activity_filter({"category": " lunch-club ,"}).categories == ("lunch-club",)
    with pytest.raises(ValidationError) as info:
        MapView.checked(ActivityFilter.checked(), 12)
    assert info.value.field == "bbox"
    view = forms.map_view({"bbox": "-0.2,51.5,-0.1,51.6", "zoom": "14", "list": "3"})
    assert (view.zoom, view.list_size) == (14, 3)
    with pytest.raises(ValidationError) as info:
        MapView.checked(view.filter, 23)
    assert info.value.field == "zoom"


def test_page_arguments():
    assert forms.page_args({"page": "0", "per_page": "0"}, zero_is_default=True) == (1, 50)
    with pytest.raises(ValidationError) as info:
        forms.page_args({"page": "0"})
    assert info.value.field == "page"


def test_an_extract_names_its_network_and_basemap_up_to_the_first_dot():
    assert default_name(Path("data/camden.osm.pbf")) == "camden"
    assert default_name(Path("camden.2026-05.osm.pbf")) == "camden"
    assert default_name(Path("greater-london-latest.osm")) == "greater-london-latest"


def test_delivery_words_one_sentence_per_state():
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    message = OutboxMessage(to_address="org@example.org", status="sent", attempts=1,
                            error="ConnectionRefusedError: [Errno 111] Connection refused")
    assert delivery_words(message, now=now) == "E-mail to org@example.org sent."
    assert delivery_words(message, now=now, what="E-mail with the link for a@b.org") == (
        "E-mail with the link for a@b.org sent.")
    message.status = "retry"
    assert delivery_words(message, now=now) == (
        "E-mail to org@example.org is queued: the mail server did not answer; it will be "
        "tried again at 12:01 UTC.")
    message.error = "SMTPRecipientsRefused: 550 no such mailbox"
    assert delivery_words(message, now=now) == (
        "E-mail to org@example.org is queued: the mail server did not accept it (550 no such "
        "mailbox); it will be tried again at 12:01 UTC.")
    message.status, message.attempts = "failed", 5
    assert "could not be delivered after 5 tries" in delivery_words(message, now=now)
    message.status = "cancelled"
    assert delivery_words(message, now=now).endswith("is cancelled; it will not be sent.")


def test_values_in_words():
    assert plain_value_words("category", "lunch-club") == "Lunch club"
    assert plain_value_words("possibly_closed", True) == "yes"
    assert plain_value_words("schedules", [{"not": "a rule"}]) == "{'not': 'a rule'}"
    assert plain_value_words("name", None) == ""
