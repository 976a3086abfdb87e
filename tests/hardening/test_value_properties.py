"""Properties of the value checks every way in shares (Hypothesis): whatever the input, each
either returns a value that is safe to store and to write out again, or refuses it with a
ValidationError naming the field, never another exception."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assetmap import values
from assetmap.errors import ValidationError
from assetmap.params import ID_MAX, as_id, id_param, int_param
from assetmap.values import cost_as_typed, normalise_postcode, parse_cost
from assetmap.web.inputs import MAX_JSON_DEPTH, CleanMultiDict, json_depth, loads_limited

CONTROL = {chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20),
                            *range(0x7F, 0xA0)]}
MAILTO_UNSAFE = set("?&%,;: \t\n\"()[]\\")
settings.register_profile("assetmap", max_examples=150, deadline=None)
settings.load_profile("assetmap")


@given(st.text())
def test_clean_text_leaves_no_control_characters_and_is_stable(raw):
    for multiline in (False, True):
        cleaned = values.clean_text(raw, multiline=multiline)
        assert not CONTROL & set(cleaned)
        assert "\r" not in cleaned
        assert values.clean_text(cleaned, multiline=multiline) == cleaned
        if not multiline:
            assert "\n" not in cleaned and "\t" not in cleaned


@given(st.one_of(st.emails(), st.text()))
def test_an_accepted_email_is_one_address_with_nothing_after_it(raw):
    try:
        address = values.email(raw, "contact_email")
    except ValidationError as exc:
        assert exc.field == "contact_email"
        return
    assert address.count("@") == 1
    assert not MAILTO_UNSAFE & set(address)
    assert values.email(address, "contact_email") == address


@given(st.emails())
def test_plain_emails_are_accepted(raw):
    local, _, domain = raw.rpartition("@")
    if MAILTO_UNSAFE & set(local) or not domain.rsplit(".", 1)[-1].isalpha():
        return  # mailto-unsafe local parts and numeric top-level domains are refused
    if len(domain.rsplit(".", 1)[-1]) < 2 or len(raw) > 320 or "." not in domain:
        return
    assert values.email(raw, "e") == raw


SCHEMES = st.sampled_from(["javascript:", "JavaScript:", " javascript:", "data:",
                           "vbscript:", "file:", "jav\tascript:", "ftp://"])


@given(SCHEMES, st.text())
def test_script_and_data_addresses_are_always_refused(scheme, rest):
    with pytest.raises(ValidationError) as caught:
        values.url(values.clean_text(scheme + rest), "contact_url")
    assert caught.value.field == "contact_url"


@given(st.one_of(st.text(), st.from_regex(r"(https?://)?[a-z0-9.-]{1,30}\.[a-z]{2,6}(/\S*)?",
                                          fullmatch=True)))
def test_an_accepted_url_is_http_with_a_host_and_stable(raw):
    try:
        address = values.url(raw, "contact_url")
    except ValidationError as exc:
        assert exc.field == "contact_url"
        return
    assert address.lower().startswith(("http://", "https://"))
    assert not any(ch.isspace() for ch in address)
    assert values.url(address, "contact_url") == address


@given(st.text())
def test_spreadsheet_guard_round_trips_and_defuses(raw):
    cell = values.spreadsheet_cell(raw)
    assert values.from_spreadsheet_cell(cell) == raw
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r")


@given(st.text(max_size=30))
def test_postcodes_normalise_or_are_refused_by_name(raw):
    try:
        postcode = normalise_postcode(raw)
    except ValidationError as exc:
        assert exc.field == "postcode"
        return
    assert normalise_postcode(postcode) == postcode
    assert postcode == postcode.upper().strip()


@given(st.decimals(min_value=0, max_value=9999, places=2, allow_nan=False))
def test_costs_in_pounds_round_trip(amount):
    parsed = parse_cost(f"£{amount}")
    if parsed["cost_kind"] == "free":
        assert amount == 0
    else:
        assert parsed["cost_kind"] == "amount"
        assert Decimal(parsed["cost_amount"]) == amount
    assert parse_cost(cost_as_typed(parsed)) == parsed


@given(st.text(max_size=60))
def test_any_cost_text_is_read_or_refused_by_name(raw):
    try:
        parse_cost(raw)
    except ValidationError as exc:
        assert exc.field == "cost"


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.booleans()))
def test_ids_are_in_every_backends_range_or_refused_by_name(raw):
    try:
        number = id_param(raw, "to")
    except ValidationError as exc:
        assert exc.field == "to"
        assert as_id(raw) is None
        return
    assert 1 <= number <= ID_MAX and as_id(raw) == number


@given(st.text(max_size=50))
def test_whole_numbers_stay_in_their_range_or_are_refused_by_name(raw):
    try:
        number = int_param(raw, "minutes", default=15, low=5, high=30)
    except ValidationError as exc:
        assert exc.field == "minutes"
        return
    assert 5 <= number <= 30


JSON = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False, allow_infinity=False)
                    | st.text(),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=60)


@given(JSON, st.integers(min_value=0, max_value=80))
def test_json_bodies_parse_within_the_depth_limit_or_are_refused_as_body(value, extra):
    text = "[" * extra + json.dumps(value) + "]" * extra
    try:
        parsed = loads_limited(text)
    except ValidationError as exc:
        assert exc.field == "body"
        assert json_depth(json.loads(text)) > MAX_JSON_DEPTH
        return
    assert json_depth(parsed) <= MAX_JSON_DEPTH
    assert not CONTROL & set(json.dumps(parsed, ensure_ascii=False))


@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=20)), max_size=8))
def test_request_parameters_keep_every_value_without_control_characters(pairs):
    cleaned = CleanMultiDict(pairs)
    items = list(cleaned.items(multi=True))
    assert len(items) == len(pairs)
    assert sorted((values.strip_controls(k), values.strip_controls(v))
                  for k, v in pairs) == sorted(items)
    assert not CONTROL & set("".join(k + v for k, v in items))
