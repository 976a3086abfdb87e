"""Property tests (Hypothesis) for the RPDE page parser, RPDE paging and the schedule parsers.

Feeds put any JSON anywhere and any text in any field; these say what holds for all of it:
parsers answer with records, reported issues or one clear format error, never anything else;
record text is always storable; a feed's paging either moves forward or stops the run.
"""

from __future__ import annotations

import json
from datetime import date, time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assetmap.errors import ScheduleError
from assetmap.schedule import DAY_CODES, ScheduleRule, describe, parse_schedule
from scrapers.http import FetchResult, expect_calendar, expect_json
from scrapers.normalise import parse_time, recurrence
from scrapers.openactive import OpenActiveScraper
from scrapers.records import ActivityRecord, FeedFormatError, ParseIssue

PROPERTY = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
URL = "https://feeds.example.org/rpde/sessions"

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
# Any text a feed might carry, control characters and lone surrogates (bytes that were not
# UTF-8) included.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)


def storable_text(value: Any) -> bool:
    return not any(ord(c) < 32 and c not in "\t\n\r" or 0x7F <= ord(c) <= 0x9F
                   or 0xD800 <= ord(c) <= 0xDFFF for c in value)


def record_texts(record: Any) -> list[str]:
    found: list[str] = []
    for value in vars(record).values():
        if isinstance(value, str):
            found.append(value)
        elif hasattr(value, "__dataclass_fields__"):
            found.extend(record_texts(value))
    return found


# -- the RPDE page parser --------------------------------------------------------------------

@PROPERTY
@given(items=st.lists(json_values | st.dictionaries(
    st.sampled_from(["state", "kind", "id", "modified", "data"]), json_values), max_size=6))
def test_any_items_give_records_or_issues_never_a_crash(items):
    page = {"next": URL + "?afterTimestamp=1&afterId=a", "items": items}
    out = list(OpenActiveScraper().parse(page, base_url=URL))
    assert all(isinstance(o, ActivityRecord | ParseIssue) for o in out)
    # One outcome per item at least (a record or a skipped-item issue); warnings may add more.
    assert len([o for o in out if isinstance(o, ActivityRecord)
                or o.level == "skipped"]) == len(items)


@PROPERTY
@given(names=st.lists(any_text.filter(lambda t: t.strip()), min_size=1, max_size=5))
def test_item_text_is_stored_clean_or_the_item_is_skipped(names):
    items = [{"state": "updated", "kind": "SessionSeries", "id": f"i{n}", "modified": n,
              "data": {"@type": "SessionSeries", "name": text}}
             for n, text in enumerate(names)]
    out = list(OpenActiveScraper().parse({"next": URL, "items": items}, base_url=URL))
    records = {o.external_id: o for o in out if isinstance(o, ActivityRecord)}
    skipped = {o.external_id for o in out if isinstance(o, ParseIssue) and o.level == "skipped"}
    assert set(records) | skipped == {f"i{n}" for n in range(len(names))}
    for record in records.values():
        assert all(storable_text(t) for t in record_texts(record))
    for issue in out:
        if isinstance(issue, ParseIssue):
            assert storable_text(issue.message)
    for n, text in enumerate(names):
        bad_bytes = any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        if bad_bytes:
            assert f"i{n}" not in records  # cannot be stored faithfully: skipped, reported


@PROPERTY
@given(body=st.binary(max_size=200))
def test_any_bytes_are_a_page_or_one_format_error(body):
    try:
        out = list(OpenActiveScraper().parse(body, base_url=URL))
    except FeedFormatError:
        return
    assert all(isinstance(o, ActivityRecord | ParseIssue) for o in out)


# -- RPDE paging -----------------------------------------------------------------------------

class ScriptedFeed:
    """A client whose pages are given: page n's next URL carries position n+1's stamp."""

    def __init__(self, stamps: list[int], back_to: int | None = None) -> None:
        self.stamps = stamps
        self.back_to = back_to
        self.requests = 0

    def url(self, n: int) -> str:
        """Page n's URL: after the last item of page n-1 (`page` keeps every URL distinct)."""
        return URL if n == 0 else f"{URL}?afterTimestamp={self.stamps[n - 1]}&afterId=x&page={n}"

    def get_json(self, url: str, **_: object) -> Any:
        self.requests += 1
        assert self.requests < 100, "the reader is looping"
        n = 0 if url == URL else next(i for i in range(1, len(self.stamps) + 1)
                                      if url == self.url(i))
        if n == len(self.stamps):  # the end of the feed: no items, next is itself
            return {"next": url, "items": []}
        target = self.back_to if n == len(self.stamps) - 1 and self.back_to is not None \
            else n + 1
        return {"next": self.url(target),
                "items": [{"state": "deleted", "id": f"x{n}", "modified": self.stamps[n]}]}


@PROPERTY
@given(stamps=st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_paging_moves_forward_or_stops_where_it_does_not(stamps):
    feed = ScriptedFeed(stamps)
    pages = []
    try:
        for page in OpenActiveScraper().fetch(feed, URL, {}):
            pages.append(page)
    except FeedFormatError as exc:
        # Stopped at the first page whose next position is not after the one before.
        bad = next(i for i in range(1, len(stamps)) if stamps[i] <= stamps[i - 1])
        assert len(pages) == bad
        assert "repeats" in str(exc) or "goes back" in str(exc)
        return
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    assert len(pages) == len(stamps) + 1  # every page and the empty end page


@PROPERTY
@given(length=st.integers(2, 6), data=st.data())
def test_a_next_back_to_a_page_already_read_stops_the_run(length, data):
    back_to = data.draw(st.integers(0, length - 2))  # the last page itself would be the end
    feed = ScriptedFeed(list(range(10, 10 + length)), back_to=back_to)
    with pytest.raises(FeedFormatError):
        for _ in OpenActiveScraper().fetch(feed, URL, {}):
            pass
    assert feed.requests <= length + 1


# -- schedule parsers ------------------------------------------------------------------------

@PROPERTY
@given(text=st.text(max_size=60) | st.builds(
    " ".join, st.lists(st.sampled_from(
        ["first", "last", "every", "other", "Monday", "tuesdays", "weekdays", "and", "of",
         "the", "month", "10:00-12:00", "2pm-3.30pm", "25:00-26:00", "12:00-10:00", "except",
         "2026-12-25", "2026-02-30", ";", ",", "fifth", "9am", "noon", "-"]), max_size=8)))
def test_schedule_text_parses_or_says_why(text):
    try:
        rules = parse_schedule(text)
    except ScheduleError as exc:
        assert exc.message
        return
    assert rules and all(isinstance(r, ScheduleRule) for r in rules)
    for rule in rules:
        describe(rule)


clock = st.builds(time, st.integers(0, 22), st.sampled_from([0, 15, 30, 45]))


@st.composite
def rules(draw) -> ScheduleRule:
    kind = draw(st.sampled_from(["weekly", "monthly", "once"]))
    start = draw(clock)
    end = draw(st.none() | st.builds(time, st.integers(start.hour + 1, 23),
                                     st.sampled_from([0, 30])))
    excepts = tuple(sorted(draw(st.sets(st.dates(date(2026, 1, 1), date(2027, 12, 31)),
                                        max_size=2))))
    if kind == "once":
        return ScheduleRule("once", start, end,
                            on_date=draw(st.dates(date(2026, 1, 1), date(2027, 12, 31))))
    if kind == "monthly":
        return ScheduleRule("monthly", start, end,
                            days=(draw(st.sampled_from(DAY_CODES)),),
                            positions=(draw(st.sampled_from([1, 2, 3, 4, -1])),),
                            except_dates=excepts)
    chosen = draw(st.sets(st.sampled_from(DAY_CODES), min_size=1))
    days = tuple(d for d in DAY_CODES if d in chosen)
    return ScheduleRule("weekly", start, end, days=days,
                        interval=draw(st.sampled_from([1, 2])), except_dates=excepts)


@PROPERTY
@given(rule=rules())
def test_described_rules_parse_back_to_themselves(rule):
    assert parse_schedule(describe(rule)) == [rule]


@PROPERTY
@given(freq=st.none() | st.sampled_from(["WEEKLY", "MONTHLY", "DAILY", "YEARLY", "weekly",
                                         "HOURLY", ""]),
       byday=st.lists(st.sampled_from(["MO", "TU", "1MO", "-1FR", "2WE", "SU", "XX", "9TH",
                                       ""]), max_size=4),
       interval=st.integers(-2, 5),
       bymonthday=st.lists(st.integers(-31, 31), max_size=2),
       count=st.none() | st.integers(-1, 20))
def test_rrule_patterns_give_rules_or_say_why(freq, byday, interval, bymonthday, count):
    try:
        found = recurrence(freq=freq, byday=byday, interval=interval, start_time=time(10),
                           end_time=time(11), valid_from=date(2026, 1, 5),
                           bymonthday=bymonthday, count=count)
    except ValueError as exc:  # ScheduleError is one
        assert str(exc)
        return
    assert all(isinstance(r, ScheduleRule) for r in found)


@PROPERTY
@given(value=json_values | st.from_regex(r"\A[0-9]{1,2}[:.]?[0-9]{0,2} ?([ap]m)?\Z"))
def test_times_parse_or_say_why(value):
    try:
        found = parse_time(value)
    except ValueError:
        return
    assert found is None or isinstance(found, time)


def test_the_scripted_feed_reads_a_good_feed_whole():
    """The paging properties' stub itself: a forward feed is read to its end."""
    feed = ScriptedFeed([1, 2, 3])
    pages = list(OpenActiveScraper().fetch(feed, URL, {}))
    assert [json.dumps(p.raw["items"]) != "[]" for p in pages] == [True, True, True, False]


@pytest.mark.parametrize("body", [b"\x89PNG\r\n\x1a\n....", b"%PDF-1.7\n", b"PK\x03\x04zip",
                                  b"\x1f\x8b\x08gzip", b"GIF89a"])
@pytest.mark.parametrize("label", ["application/json", "text/calendar", "text/html", ""])
def test_binary_bodies_are_refused_whatever_their_label(body, label):
    result = FetchResult(URL, 200, body, {"Content-Type": label})
    for expect in (expect_json, expect_calendar):
        with pytest.raises(FeedFormatError, match="binary file"):
            expect(result)
