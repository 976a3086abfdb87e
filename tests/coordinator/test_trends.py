"""Trends on the freshness page: weekly series worked out in SQL (exact figures for seeded
data), the charts, their CSVs, who may see them, and text that stays text.

NOW (tests/coordinator/conftest.py) is Monday 1 June 2026, 13:00 in London: the current week
began at 00:00 BST that day (31 May 23:00 UTC), and the five weeks asked for here begin on
4, 11, 18 and 25 May and 1 June.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from assetmap.coordination import trends
from assetmap.db import session_scope
from assetmap.freshness.rules import Rules
from assetmap.models import (
    Activity,
    FreshnessSnapshot,
    ScrapeRun,
    Source,
    Suggestion,
    VerificationEvent,
)
from tests.coordinator.conftest import NOW, days_ago

WEEKS = 5
RULES = Rules()


def _days_before_now(moment: datetime) -> float:
    return (NOW - moment) / timedelta(days=1)


def _span():
    return trends.weeks_to(NOW, WEEKS)


def _values(trend: trends.Trend) -> dict[str, tuple]:
    return {s.key: s.values for s in trend.series}


def test_weeks_run_monday_to_sunday_in_london_time():
    weeks = _span()
    assert [w.start for w in weeks] == [date(2026, 5, 4), date(2026, 5, 11), date(2026, 5, 18),
                                        date(2026, 5, 25), date(2026, 6, 1)]
    # Midnight in London during British Summer Time is 23:00 UTC the day before.
    assert weeks[-1].begins == datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
    assert weeks[-1].ends == NOW and weeks[-1].current
    assert weeks[0].ends == weeks[1].begins
    # Across the clocks going back (25 October 2026), a week is 169 hours long.
    autumn = trends.weeks_to(datetime(2026, 10, 27, 12, tzinfo=UTC), 2)[0]  # from 19 Oct
    assert autumn.ends - autumn.begins == timedelta(hours=169)


@pytest.fixture
def fresh_scenario(app, make_listing):
    """Listings whose freshness changes over the five weeks (see the test for each)."""
    make_listing("Phoned lunch", checks=((160, "phoned"),))  # due soon since 24 May
    make_listing("New walk", created=20, category="walking-group")  # listed 12 May, unchecked
    make_listing("Visited choir", checks=((10, "connector-visited"),), category="singing")
    make_listing("Imported club", checks=((60, "imported"), (1, "source-seen")))
    make_listing("Ended bingo", checks=((3, "phoned"),), status="ended", category="bingo")
    make_listing("Day trip", checks=((70, "phoned"),), category="days-out")  # 91-day interval


def test_share_fresh_is_worked_out_from_history_and_counted_live_this_week(app, session,
                                                                          fresh_scenario):
    trend = trends.fresh_trend(session, _span(), NOW, RULES)
    values = _values(trend)
    assert values["listings"] == (4, 5, 5, 5, 5)
    assert values["fresh"] == (3, 3, 2, 2, 2)
    assert values["share_fresh_percent"] == (75.0, 60.0, 40.0, 40.0, 40.0)
    assert values["how_counted"] == (*[trends.BASIS_HISTORY] * 4, trends.BASIS_LIVE)
    assert trend.summary == ("Fresh listings: 40% this week (2 of 5 listings), down from 75% "
                             "four weeks ago.")


def test_history_agrees_with_the_rules_at_the_same_instant(app, session, fresh_scenario):
    """Worked out from history for an instant, the count matches the cached states then."""
    week = trends.Week(date(2026, 6, 1), NOW - timedelta(hours=13), NOW, current=True)
    worked_out = trends._fresh_from_history(session, [week], RULES)
    assert worked_out == {0: trends.fresh_now(session, NOW)} == {0: (5, 2)}


def test_a_week_with_snapshots_takes_its_last_one(app, session, fresh_scenario):
    with session_scope(app) as s:
        s.add(FreshnessSnapshot(taken_at=datetime(2026, 5, 26, 5, tzinfo=UTC), listings=7,
                                fresh=1))
        s.add(FreshnessSnapshot(taken_at=datetime(2026, 5, 31, 22, 30, tzinfo=UTC), listings=8,
                                fresh=6))  # Sunday 23:30 in London: still that week
        s.add(FreshnessSnapshot(taken_at=datetime(2026, 5, 31, 23, 30, tzinfo=UTC), listings=9,
                                fresh=9))  # Monday 00:30 in London: this week, counted live
    values = _values(trends.fresh_trend(session, _span(), NOW, RULES))
    assert values["listings"] == (4, 5, 5, 8, 5)
    assert values["fresh"] == (3, 3, 2, 6, 2)
    assert values["share_fresh_percent"][3] == 75.0
    assert values["how_counted"][3] == trends.BASIS_SNAPSHOT


def test_the_daily_job_keeps_a_count_and_works_out_earlier_weeks_once(app, session,
                                                                      fresh_scenario):
    from assetmap.jobs.daily import run_daily

    before = trends.fresh_trend(session, _span(), NOW, RULES)
    report = run_daily(app, now=NOW, coverage=False)
    counted = session.query(FreshnessSnapshot).filter_by(worked_out=False).one()
    assert (counted.taken_at, counted.listings, counted.fresh) == (NOW, 5, 2)
    # The 51 weeks before this one each had listings, so each is worked out and kept.
    worked_out = session.query(FreshnessSnapshot).filter_by(worked_out=True).count()
    assert worked_out == trends.MAX_WEEKS - 1
    assert ("trend: 2 of 5 listings fresh today; 51 earlier weeks worked out from the checks "
            "recorded") in report.lines()
    session.expire_all()
    # Kept, the figures are the ones the page worked out as it drew.
    assert trends.fresh_trend(session, _span(), NOW, RULES).series == before.series
    # Run again: one more count, nothing worked out twice.
    again = run_daily(app, now=NOW + timedelta(hours=1), coverage=False)
    assert again.weeks_worked_out == 0
    assert session.query(FreshnessSnapshot).count() == trends.MAX_WEEKS + 1


def test_a_week_counted_on_the_day_wins_over_one_worked_out(app, session):
    with session_scope(app) as s:
        s.add(FreshnessSnapshot(taken_at=datetime(2026, 5, 31, 22, 59, 59, tzinfo=UTC),
                                listings=9, fresh=1, worked_out=True))
        s.add(FreshnessSnapshot(taken_at=datetime(2026, 5, 27, 5, tzinfo=UTC), listings=9,
                                fresh=3))
    values = _values(trends.fresh_trend(session, _span(), NOW, RULES))
    assert values["fresh"][3] == 3 and values["how_counted"][3] == trends.BASIS_SNAPSHOT


def test_checks_by_method_per_week(app, session, make_listing):
    sunday_night = datetime(2026, 5, 31, 22, 30, tzinfo=UTC)  # 23:30 BST: the week before
    monday_early = datetime(2026, 5, 31, 23, 30, tzinfo=UTC)  # 00:30 BST: this week
    make_listing("Checked often", checks=(
        (_days_before_now(monday_early), "phoned"),
        (_days_before_now(sunday_night), "phoned"),
        (9, "connector-visited"), (9, "phoned"),
        (27, "source-seen"),
        (30, "phoned"),  # 2 May: before the five weeks
        (-1, "phoned"),  # after "now"
    ))
    trend = trends.checks_trend(session, _span())
    assert _values(trend) == {
        "source-seen": (1, 0, 0, 0, 0),
        "connector-visited": (0, 0, 1, 0, 0),
        "phoned": (0, 0, 1, 1, 1),
        "total": (1, 0, 2, 1, 1),
    }
    assert [s.label for s in trend.plotted] == ["Seen in a feed", "On a connector visit",
                                                "By phone"]
    assert trend.summary == ("Checks recorded: 1 this week, 1 four weeks ago; 5 in the 5 "
                             "weeks, most often by phone (3).")


def _suggestion(s, ref: str, created: float, status: str = "pending",
                decided: float | None = None) -> None:
    s.add(Suggestion(reference=ref, fields={"name": ref}, status=status,
                     created_at=days_ago(created),
                     decided_at=days_ago(decided) if decided is not None else None))


def test_suggestions_received_and_accepted(app, session):
    with session_scope(app) as s:
        _suggestion(s, "S-W0", 25)
        _suggestion(s, "S-W2", 12, "approved", decided=4)
        _suggestion(s, "S-W3", 5, "merged", decided=0.2)
        _suggestion(s, "S-NOW", 0.3, "rejected", decided=0.1)
        _suggestion(s, "S-OLD", 60, "approved", decided=24)
    trend = trends.suggestions_trend(session, _span())
    assert _values(trend) == {"received": (1, 0, 1, 1, 1), "accepted": (1, 0, 0, 1, 1)}
    assert trend.summary == ("Community suggestions: 1 received and 1 accepted this week; "
                             "4 received and 3 accepted in the 5 weeks.")


def _runs(app) -> None:
    with session_scope(app) as s:
        source = Source(type="openactive", url="https://example.org/feed", name="Feed")
        s.add(source)
        s.flush()
        for started, status in ((19, "ok"), (18, "failed"), (6, "failed"), (0.2, "ok"),
                                (0.1, "ok"), (40, "failed")):
            s.add(ScrapeRun(source_id=source.id, started_at=days_ago(started), status=status))


def test_feed_runs_failed(app, session):
    _runs(app)
    trend = trends.feeds_trend(session, _span())
    assert _values(trend) == {"failed": (0, 1, 0, 1, 0), "runs": (0, 2, 0, 1, 2)}
    assert trend.summary == "Feed runs failed: 0 of 2 this week; 2 of 5 in the 5 weeks."


def test_an_empty_database_says_no_data_yet(app, client, login, session):
    for trend in trends.all_trends(session, now=NOW, weeks=WEEKS, rules=RULES):
        assert trend.summary is None
    login("coordinator")
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert 'class="trend-chart"' not in page
    assert page.count('class="trend-empty"') == 4
    assert "No data yet: there are no listings to count." in page
    assert "No data yet: no feed has run in the last 12 weeks." in page
    assert "Download these figures" not in page


def _figure(page: str, key: str) -> str:
    match = re.search(rf'<section class="trend" aria-labelledby="trend-{key}-title">(.*?)'
                      r"</section>", page, re.S)
    assert match, f"no {key} chart"
    return match.group(1)


def test_the_page_draws_each_chart_with_words_and_figures(app, client, login, fresh_scenario):
    _runs(app)
    login("coordinator")
    page = client.get("/coordinator/freshness?weeks=5").get_data(as_text=True)
    fresh = _figure(page, "fresh")
    assert ("Fresh listings: 40% this week (2 of 5 listings), down from 75% four weeks ago."
            in fresh)
    assert 'role="img"' in fresh and "<title id=\"trend-fresh-svg-title\">" in fresh
    assert fresh.count('class="marker"') == 5  # one marker a week
    assert "<details" in fresh and "<td>75.0%</td>" in fresh
    assert trends.BASIS_HISTORY in fresh
    assert 'href="/coordinator/freshness/trends/fresh.csv?weeks=5"' in fresh
    feeds = _figure(page, "feeds")
    assert feeds.count('class="bar"') == 5
    assert "No data yet: no community suggestions" in _figure(page, "suggestions")
    checks = _figure(page, "checks")
    # Each method is its own labelled row: told apart by words, not colour.
    for label in ("By phone (1)", "On a connector visit (1)", "Seen in a feed (1)"):
        assert 'class="row-label"' in checks and label in checks
    # The charts scale to their box: no fixed width that could push a phone sideways.
    for svg in re.findall(r'<svg class="trend-chart"[^>]*>', page):
        assert "width=" not in svg and "viewBox=" in svg


def _csv(client, key: str, weeks: int = WEEKS) -> list[list[str]]:
    response = client.get(f"/coordinator/freshness/trends/{key}.csv?weeks={weeks}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == f"attachment; filename=trend-{key}.csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_csv_has_a_row_per_week(app, client, login, fresh_scenario):
    _runs(app)
    with session_scope(app) as s:
        _suggestion(s, "S-W2", 12, "approved", decided=4)
    login("coordinator")
    assert _csv(client, "fresh") == [
        ["week_beginning", "share_fresh_percent", "fresh", "listings", "how_counted"],
        ["2026-05-04", "75.0", "3", "4", trends.BASIS_HISTORY],
        ["2026-05-11", "60.0", "3", "5", trends.BASIS_HISTORY],
        ["2026-05-18", "40.0", "2", "5", trends.BASIS_HISTORY],
        ["2026-05-25", "40.0", "2", "5", trends.BASIS_HISTORY],
        ["2026-06-01", "40.0", "2", "5", trends.BASIS_LIVE],
    ]
    assert _csv(client, "feeds") == [
        ["week_beginning", "failed", "runs"],
        ["2026-05-04", "0", "0"], ["2026-05-11", "1", "2"], ["2026-05-18", "0", "0"],
        ["2026-05-25", "1", "1"], ["2026-06-01", "0", "2"]]
    assert _csv(client, "suggestions")[0] == ["week_beginning", "received", "accepted"]
    assert [row[1:] for row in _csv(client, "suggestions")[1:]] == [
        ["0", "0"], ["0", "0"], ["1", "0"], ["0", "1"], ["0", "0"]]
    checks = _csv(client, "checks")
    assert checks[0] == ["week_beginning", "source-seen", "connector-visited", "phoned",
                         "total"]
    assert checks[-2:] == [["2026-05-25", "1", "0", "1", "2"], ["2026-06-01", "0", "0", "0", "0"]]
    assert len(_csv(client, "checks", 26)) == 27


def test_weeks_outside_the_range_is_a_400_naming_the_field(app, client, login):
    login("coordinator")
    for bad in ("0", "53", "lots"):
        page = client.get(f"/coordinator/freshness?weeks={bad}")
        assert page.status_code == 400
        assert "Problem with: <strong>Weeks the trends show</strong>" in page.get_data(as_text=True)
        assert client.get(f"/coordinator/freshness/trends/fresh.csv?weeks={bad}"
                          ).status_code == 400
    assert client.get("/coordinator/freshness/trends/other.csv").status_code == 404


def test_only_coordinators_and_admins(app, client, login):
    urls = ("/coordinator/freshness/trends/fresh.csv", "/coordinator/freshness/trends/feeds.csv")
    for url in urls:
        assert client.get(url).status_code == 302  # to the sign-in page
    login("connector")
    for url in urls:
        assert client.get(url).status_code == 403
    login("coordinator")
    assert all(client.get(url).status_code == 200 for url in urls)
    login("admin")
    assert all(client.get(url).status_code == 200 for url in urls)
    assert 'id="trends"' in client.get("/coordinator/freshness").get_data(as_text=True)


def test_stored_text_stays_text(app, client, login, make_listing):
    """A method stored by an older import or by hand is shown as typed, never run: escaped on
    the page, and defused in the CSV."""
    made = make_listing("Odd checks")
    with session_scope(app) as s:
        activity = s.get(Activity, made.id)
        for method in ('<script>alert("x")</script>', "=HYPERLINK(\"http://x\")"):
            s.add(VerificationEvent(activity=activity, verified_at=days_ago(1), method=method,
                                    actor_type="user"))
    login("coordinator")
    page = client.get("/coordinator/freshness").get_data(as_text=True)
    assert '<script>alert("x")' not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; (1)" in page
    header = _csv(client, "checks")[0]
    assert "'=HYPERLINK(\"http://x\")" in header and '<script>alert("x")</script>' in header
