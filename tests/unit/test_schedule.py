import json
from datetime import date, datetime, time, timedelta

import pytest

from assetmap.errors import ScheduleError
from assetmap.schedule import (
    LONDON,
    ScheduleRule,
    describe,
    describe_all,
    next_sessions,
    occurrences,
    parse_schedule,
    rule_from_json,
    rule_words,
    schedule_words,
    session_weekdays,
    with_exceptions,
)


def starts(rules, first: datetime, days: int) -> list[str]:
    return [s.start.strftime("%Y-%m-%d %H:%M %Z")
            for s in occurrences(rules, first, first + timedelta(days=days))]


def test_weekly_text_form():
    (rule,) = parse_schedule("Tuesdays 10:00-12:00")
    assert rule == ScheduleRule("weekly", time(10), time(12), days=("TU",))
    got = starts([rule], datetime(2026, 11, 22, tzinfo=LONDON), 14)
    assert got == ["2026-11-24 10:00 GMT", "2026-12-01 10:00 GMT"]


@pytest.mark.parametrize("text, expected", [
    ("Mon and Thu 2pm-3.30pm", ScheduleRule("weekly", time(14), time(15, 30),
                                            days=("MO", "TH"))),
    ("first Monday 14:00-16:00", ScheduleRule("monthly", time(14), time(16), days=("MO",),
                                               positions=(1,))),
    ("last Friday of the month 10am-12pm", ScheduleRule("monthly", time(10), time(12),
                                                        days=("FR",), positions=(-1,))),
    ("every other Wednesday 18:00-20:00", ScheduleRule("weekly", time(18), time(20),
                                                       days=("WE",), interval=2)),
    ("2026-12-05 14:00-16:00", ScheduleRule("once", time(14), time(16),
                                            on_date=date(2026, 12, 5))),
    ("Sundays 2-4pm", ScheduleRule("weekly", time(14), time(16), days=("SU",))),
    ("weekdays 9:30-11:00", ScheduleRule("weekly", time(9, 30), time(11),
                                         days=("MO", "TU", "WE", "TH", "FR"))),
])
def test_parse_forms(text, expected):
    assert parse_schedule(text) == [expected]


def test_describe_parses_back():
    for text in ("Tuesdays 10:00-12:00", "first and third Wednesday 10:00-12:00",
                 "every other Monday 11:00-13:00", "2026-12-05 14:00-16:00",
                 "last Saturday 11:00-14:00", "Fridays 10:00-11:00 except 2026-12-25"):
        rules = parse_schedule(text)
        assert parse_schedule(describe_all(rules)) == rules


def test_monthly_last_friday_and_first_monday():
    rules = parse_schedule("last Friday 10:00-12:00; first Monday 14:00-16:00")
    got = starts(rules, datetime(2027, 1, 1, tzinfo=LONDON), 40)
    assert got == ["2027-01-04 14:00 GMT", "2027-01-29 10:00 GMT", "2027-02-01 14:00 GMT"]


def test_exception_dates_skip_a_session():
    (rule,) = parse_schedule("Tuesdays 10:00-12:00 except 2026-12-01")
    got = starts([rule], datetime(2026, 11, 23, tzinfo=LONDON), 14)
    assert got == ["2026-11-24 10:00 GMT"]


def test_british_summer_time_keeps_wall_clock():
    (rule,) = parse_schedule("Sundays 10:00-11:00")
    sessions = occurrences([rule], datetime(2027, 3, 20, tzinfo=LONDON),
                           datetime(2027, 4, 5, tzinfo=LONDON))
    # 28 March 2027 is the day the clocks go forward: 10:00 that day is already BST.
    assert [s.start.hour for s in sessions] == [10, 10, 10]
    assert [s.start.utcoffset() for s in sessions] == [timedelta(0), timedelta(hours=1),
                                                       timedelta(hours=1)]


def test_fortnightly_parity_does_not_depend_on_the_query_window():
    (rule,) = parse_schedule("every other Wednesday 18:00-20:00")
    wide = starts([rule], datetime(2026, 11, 1, tzinfo=LONDON), 60)
    narrow = starts([rule], datetime(2026, 12, 1, tzinfo=LONDON), 30)
    assert set(narrow) <= set(wide)
    assert len(wide) in (4, 5)


def test_valid_from_and_to_bound_the_rule():
    rule = ScheduleRule("weekly", time(10), time(11), days=("MO",),
                        valid_from=date(2026, 12, 7), valid_to=date(2026, 12, 21))
    got = starts([rule], datetime(2026, 11, 1, tzinfo=LONDON), 90)
    assert got == ["2026-12-07 10:00 GMT", "2026-12-14 10:00 GMT", "2026-12-21 10:00 GMT"]


def test_next_sessions_include_one_under_way():
    (rule,) = parse_schedule("Tuesdays 10:00-12:00")
    now = datetime(2026, 11, 24, 11, 0, tzinfo=LONDON)
    assert next_sessions([rule], now, count=1)[0].start == datetime(2026, 11, 24, 10, 0,
                                                                   tzinfo=LONDON)


def test_round_trip_through_dict():
    rule = ScheduleRule("monthly", time(9), time(10), days=("WE", "FR"), positions=(1, -1),
                        except_dates=(date(2027, 1, 1),))
    assert ScheduleRule.from_dict(rule.to_dict()) == rule
    assert describe(rule) == "First and last Wednesday and Friday 09:00-10:00 except 2027-01-01"


@pytest.mark.parametrize("bad, words", [
    ("", "empty"), ("Tuesdays", "no time"), ("Blursday 10:00-11:00", "blursday"),
    ("first 10:00-11:00", "no day"), ("Tuesday 25:00-26:00", "not a time"),
    ("2026-12-01 2026-12-02 10:00-11:00", "one date"),
])
def test_bad_schedules_say_what_is_wrong(bad, words):
    with pytest.raises(ScheduleError, match=words):
        parse_schedule(bad)


def test_monthly_rule_without_positions_is_described_as_weekly():
    rule = ScheduleRule("monthly", time(10), time(11), days=("TU",))
    assert describe(rule) == "Tuesdays 10:00-11:00"


def test_weekly_and_daily_dates_agree_with_dateutil():
    """The plain-arithmetic weekly/daily path against dateutil's rrule as an oracle."""
    import random

    from dateutil import rrule

    from assetmap.schedule import DAY_CODES, _dates

    codes = [rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU]
    rng = random.Random(7)
    for _ in range(300):
        kind = rng.choice(["weekly", "daily"])
        days = tuple(sorted(rng.sample(DAY_CODES, rng.randint(1, 3)), key=DAY_CODES.index))
        interval = rng.randint(1, 3)
        valid_from = date(2026, 1, 1) + timedelta(days=rng.randint(0, 400))
        rule = ScheduleRule(kind, time(10), time(11), days=days if kind == "weekly" else (),
                            interval=interval if kind == "weekly" else 1,
                            valid_from=valid_from)
        first = valid_from + timedelta(days=rng.randint(-30, 60))
        last = first + timedelta(days=rng.randint(0, 90))
        start = valid_from - timedelta(days=valid_from.weekday()) if kind == "weekly" else (
            valid_from)
        oracle = rrule.rrule(rrule.WEEKLY if kind == "weekly" else rrule.DAILY,
                             interval=rule.interval, dtstart=datetime.combine(start, time()),
                             byweekday=[codes[DAY_CODES.index(d)] for d in days]
                             if kind == "weekly" else None, wkst=rrule.MO,
                             until=datetime.combine(last, time()))
        expected = [d.date() for d in oracle if max(first, valid_from) <= d.date() <= last]
        assert list(_dates(rule, first, last)) == expected, rule


@pytest.mark.parametrize(("text", "words"), [
    ("Mondays 14:00-15:00", "Mondays, 2pm to 3pm"),
    ("Mondays and Thursdays 10:30-12:00", "Mondays and Thursdays, 10:30am to 12 noon"),
    ("every other Tuesday 19:00", "Every other Tuesday, from 7pm"),
    ("first and third Tuesday 10:00-12:00",
     "First and third Tuesday of the month, 10am to 12 noon"),
    ("last Friday 18:00-23:59", "Last Friday of the month, 6pm to 11:59pm"),
    ("2026-12-05 14:00-16:00", "Saturday 5 December 2026, 2pm to 4pm"),
])
def test_schedule_in_words_for_people(text: str, words: str) -> None:
    assert schedule_words(parse_schedule(text)) == words


def test_schedule_words_name_the_exceptions_and_midnight() -> None:
    rule = with_exceptions(parse_schedule("Thursdays 00:00-01:00")[0], [date(2026, 12, 24)])
    assert rule_words(rule) == "Thursdays, midnight to 1am (not on Thursday 24 December 2026)"


def test_a_stored_rule_read_as_text_is_the_rule_and_parsed_once():
    rule = ScheduleRule("monthly", time(10), time(11), days=("TU",), positions=(1, -1),
                        valid_from=date(2026, 1, 1), except_dates=(date(2026, 3, 3),))
    stored = rule.to_dict()
    stored.pop("text")
    text = json.dumps(stored)
    assert rule_from_json(text) == rule
    assert rule_from_json(text) is rule_from_json(json.dumps(stored))
    with pytest.raises(ScheduleError):
        rule_from_json(json.dumps({"kind": "weekly", "days": []}))


@pytest.mark.parametrize(("rules", "weekdays"), [
    ([], 0),  # no rules, no sessions: no day
    (["Tuesdays 10:00-12:00"], 0b0000010),
    (["Tuesdays 10:00-12:00", "Fridays and Sundays 14:00"], 0b1010010),
    (["first Monday of the month 10:00"], 0b0000001),
    (["daily 09:00"], 0b1111111),
])
def test_session_weekdays_are_the_days_a_rule_can_meet_on(rules, weekdays):
    parsed = [rule for text in rules for rule in parse_schedule(text)]
    assert session_weekdays(parsed) == weekdays


def test_a_one_off_session_meets_on_its_date_s_weekday():
    once = ScheduleRule("once", start_time=time(10), on_date=date(2026, 11, 26))  # a Thursday
    assert session_weekdays([once]) == 1 << 3
