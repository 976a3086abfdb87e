"""The one home for typed values: costs read and written back, chunks."""

from __future__ import annotations

import pytest

from assetmap.errors import ValidationError
from assetmap.values import (
    chunks,
    cost_as_typed,
    cost_in_words,
    find_postcode,
    full_postcode,
    normalise_postcode,
    parse_cost,
    without_postcode,
)


@pytest.mark.parametrize(("typed", "kind", "amount", "text"), [
    ("", "unknown", None, None),
    ("not sure", "unknown", None, None),
    ("Free", "free", None, None),
    ("£0.00", "free", None, None),
    ("0.0", "free", None, None),
    ("£3.5", "amount", "3.50", None),
    ("12", "amount", "12.00", None),
    ("small fee", "small-fee", None, None),
    ("Small fee (donation welcome)", "small-fee", None, "donation welcome"),
])
def test_parse_cost_reads_what_people_write(typed, kind, amount, text):
    assert parse_cost(typed) == {"cost_kind": kind, "cost_amount": amount, "cost_text": text}


@pytest.mark.parametrize("typed", ["free", "£3.50", "small fee", "small fee (tea included)"])
def test_cost_as_typed_round_trips_through_parse_cost(typed):
    fields = parse_cost(typed)
    assert parse_cost(cost_as_typed(fields)) == fields
    assert cost_as_typed(fields) == typed


@pytest.mark.parametrize("typed", ["three pounds", "£123456", "-2", "£3.505"])
def test_parse_cost_names_the_field_it_was_given(typed):
    with pytest.raises(ValidationError) as caught:
        parse_cost(typed, field="cost_amount")
    assert caught.value.field == "cost_amount"


def test_parse_cost_refuses_overlong_details_instead_of_cutting_them():
    with pytest.raises(ValidationError):
        parse_cost("small fee (" + "x" * 201 + ")")


@pytest.mark.parametrize(("cost", "words"), [
    ({"kind": "free"}, "Free"), ({"kind": "amount", "amount": "3.00"}, "£3"),
    ({"kind": "amount", "amount": "2.50"}, "£2.50"),
    ({"kind": "small-fee", "text": "donation"}, "A small fee (donation)"),
    ({"kind": "unknown"}, "Ask the organiser"),
])
def test_cost_in_words(cost, words):
    assert cost_in_words(cost) == words


def test_chunks_cover_every_item_once_in_order():
    items = list(range(12))
    parts = list(chunks(items, 5))
    assert [len(p) for p in parts] == [5, 5, 2]
    assert [i for p in parts for i in p] == items


@pytest.mark.parametrize(("typed", "expected"), [
    ("nw12db", "NW1 2DB"), (" NW1  2DB ", "NW1 2DB"), ("gir0aa", "GIR 0AA"), ("NW1", "NW1"),
])
def test_normalise_postcode(typed, expected):
    assert normalise_postcode(typed) == expected


@pytest.mark.parametrize("typed", ["", "80209", "NW1 2D", "hello"])
def test_normalise_postcode_names_the_field(typed):
    with pytest.raises(ValidationError) as caught:
        normalise_postcode(typed, field="from")
    assert caught.value.field == "from"


def test_postcodes_in_free_text():
    address = "Kentish Town Library, 262 Kentish Town Road, London nw5 2aa, UK"
    assert find_postcode(address) == "NW5 2AA"
    assert without_postcode("262 Kentish Town Road, NW5 2AA") == "262 Kentish Town Road"
    assert "NW5" not in without_postcode(address).upper()
    assert full_postcode("NW5 2AA x") is None
