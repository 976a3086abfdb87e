"""The freshness rules on their own: no database, a frozen clock."""

from datetime import UTC, date, datetime, time, timedelta

import pytest

from assetmap.errors import ConfigError
from assetmap.freshness.rules import (
    DEFAULT_INTERVAL,
    Check,
    Rules,
    Signal,
    assess,
    describe,
    evaluate,
    one_off_end,
    overdue_words,
    state_at,
)
from assetmap.schedule import ScheduleRule

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
INTERVAL = DEFAULT_INTERVAL  # 182 days
CREATED = NOW - 1000 * DAY


def due(*checks: tuple[float, str], **kw) -> datetime:
    return evaluate([Check(NOW - age * DAY, method) for age, method in checks],
                    interval=INTERVAL, created_at=CREATED, **kw).due_at


@pytest.mark.parametrize("method, earned", [
    ("connector-visited", 1.0), ("organiser-confirmed", 1.0), ("phoned", 1.0),
    ("coordinator-checked", 1.0), ("client-attended", 0.75), ("source-assured", 0.75),
    ("community-suggested", 0.5), ("imported", 0.5),
])
def test_each_kind_of_check_earns_its_share_of_the_interval(method, earned):
    assert due((10, method)) == NOW - 10 * DAY + INTERVAL * earned


def test_a_feed_merely_listing_it_never_makes_a_listing_fresh():
    found = evaluate([Check(NOW - DAY, "source-seen")], interval=INTERVAL, created_at=CREATED,
                     last_seen_by_source_at=NOW - DAY)
    assert found.sticky == "unknown" and found.due_at == CREATED
    assert state_at(found.due_at, NOW, found.sticky) == "unknown"


def test_the_strongest_credit_wins_a_weaker_later_check_does_not_shorten_it():
    # A visit 100 days ago (due in 82 days) and an import yesterday (due in 90 days): 90.
    assert due((100, "connector-visited"), (1, "imported")) == NOW - DAY + INTERVAL / 2
    # A visit 10 days ago and an import yesterday: the visit's 172 days left win.
    assert due((10, "connector-visited"), (1, "imported")) == NOW - 10 * DAY + INTERVAL


def test_a_feed_after_a_check_postpones_the_due_date_by_at_most_a_quarter():
    checked = NOW - 170 * DAY
    base = checked + INTERVAL
    assert due((170, "phoned"), last_seen_by_source_at=checked + 20 * DAY) == base + 20 * DAY
    assert due((170, "phoned"), last_seen_by_source_at=NOW) == base + INTERVAL * 0.25
    # Seen before the check: no bonus.
    assert due((170, "phoned"), last_seen_by_source_at=checked - DAY) == base


@pytest.mark.parametrize("age, state", [
    (0, "fresh"), (151, "fresh"), (152.5, "due-soon"), (181.9, "due-soon"), (182, "stale"),
    (363.9, "stale"), (364, "very-stale"), (900, "very-stale"),
])
def test_states_follow_the_due_date(age, state):
    found = evaluate([Check(NOW - age * DAY, "connector-visited")], interval=INTERVAL,
                     created_at=CREATED)
    assert describe(found, NOW).state == state


def test_a_one_off_event_is_due_on_its_date_and_stale_once_it_has_passed():
    event = ScheduleRule("once", time(14), time(16), on_date=date(2026, 6, 20))
    until = one_off_end([event])
    assert until == datetime(2026, 6, 20, 15, 0, tzinfo=UTC)  # 16:00 BST
    found = evaluate([Check(NOW - 5 * DAY, "organiser-confirmed")], interval=INTERVAL,
                     created_at=CREATED, one_off_until=until)
    assert found.due_at == until
    assert describe(found, NOW).state == "due-soon"
    after = describe(found, until + DAY)
    assert after.state == "stale" and "20 June 2026 has passed" in after.reason
    # A listing with any recurring rule is not one-off.
    assert one_off_end([event, ScheduleRule("weekly", days=("TU",))]) is None


def test_closure_signals_make_it_possibly_closed_until_someone_checks():
    signal = Signal(NOW - 3 * DAY, "missing from the feed X for 3 runs")
    found = evaluate([Check(NOW - 10 * DAY, "phoned")], interval=INTERVAL, created_at=CREATED,
                     signals=[signal])
    assert found.sticky == "possibly-closed" and found.due_at == signal.at
    shown = describe(found, NOW)
    assert shown.state == "possibly-closed" and shown.reason == signal.reason and shown.is_stale
    answered = evaluate([Check(NOW - DAY, "phoned")], interval=INTERVAL, created_at=CREATED,
                        signals=[signal])
    assert answered.sticky is None and describe(answered, NOW).state == "fresh"
    # A flag nobody knows the time of is answered by no check.
    unknown_time = evaluate([Check(NOW - DAY, "phoned")], interval=INTERVAL,
                            created_at=CREATED, signals=[Signal(None, "flagged")])
    assert unknown_time.sticky == "possibly-closed"
    # Never checked and dropped by a feed: possibly closed says more than "never checked".
    never = evaluate([], interval=INTERVAL, created_at=CREATED, signals=[signal])
    assert never.sticky == "possibly-closed" and never.due_at == CREATED


def test_words_for_people():
    assert describe(evaluate([Check(NOW - 95 * DAY, "phoned")], interval=INTERVAL,
                             created_at=CREATED), NOW).words == "checked 3 months ago, by phone"
    stale = describe(evaluate([Check(NOW - 250 * DAY, "connector-visited")], interval=INTERVAL,
                              created_at=CREATED), NOW)
    assert stale.words == "not checked for 8 months (last check: on a connector visit)"
    assert describe(evaluate([], interval=INTERVAL, created_at=CREATED), NOW).words == (
        "never checked")
    assert overdue_words(NOW - 100 * DAY, NOW) == "3 months overdue"
    assert overdue_words(NOW + 10 * DAY, NOW) == "due in 10 days"
    assert overdue_words(NOW + DAY + timedelta(hours=1), NOW) == "due tomorrow"
    assert overdue_words(NOW - timedelta(hours=3), NOW) == "due today"


def test_assess_from_one_check_keeps_its_old_contract():
    fresh = assess(NOW - 10 * DAY, "connector-visited", NOW)
    assert fresh.state == "fresh" and fresh.due_at == NOW - 10 * DAY + INTERVAL
    assert fresh.to_dict()["label"] == "Fresh" and not fresh.is_stale
    assert assess(None, None, NOW).state == "unknown"
    assert assess(None, None, NOW, possibly_closed=True).state == "possibly-closed"
    assert assess(NOW - 10 * DAY, "phoned", NOW, possibly_closed=True).state == (
        "possibly-closed")
    assert assess(NOW - 10 * DAY, "phoned", NOW, interval=timedelta(days=15)).state == (
        "due-soon")


def test_intervals_are_configurable_per_category():
    rules = Rules.from_config({"FRESHNESS_DEFAULT_DAYS": "120",
                               "FRESHNESS_INTERVALS": "walking-group=90, bingo=365"})
    assert rules.interval_for("walking-group") == timedelta(days=90)
    assert rules.interval_for("bingo") == timedelta(days=365)
    assert rules.interval_for("lunch-club") == timedelta(days=120)
    assert rules.interval_for("days-out") == timedelta(days=91)  # a built-in default
    assert Rules.from_config({}).interval_for("lunch-club") == INTERVAL


@pytest.mark.parametrize("config, words", [
    ({"FRESHNESS_INTERVALS": "knitting-marathon=90"}, "unknown category"),
    ({"FRESHNESS_INTERVALS": "bingo=30"}, "shorter than the 60-day minimum"),
    ({"FRESHNESS_INTERVALS": "bingo"}, "category=days pairs"),
    ({"FRESHNESS_DEFAULT_DAYS": "six months"}, "not a whole number"),
])
def test_bad_interval_settings_say_what_is_wrong(config, words):
    with pytest.raises(ConfigError, match=words):
        Rules.from_config(config)
