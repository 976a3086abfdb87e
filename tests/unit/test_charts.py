"""The trend charts' geometry (no database): gaps, scales, labels that do not collide."""

from __future__ import annotations

from datetime import UTC, datetime

from assetmap.coordination.trends import Series, Trend, weeks_to
from assetmap.web import charts

WEEKS = weeks_to(datetime(2026, 6, 1, 12, tzinfo=UTC), 5)


def _trend(key: str, *series: Series, percent: bool = False,
           summary: str | None = "words") -> Trend:
    return Trend(key, "Title", WEEKS, series, summary, "No data yet.", percent=percent)


def test_nothing_to_say_draws_nothing():
    assert charts.draw(_trend("feeds", Series("failed", "Failed", (0,) * 5),
                              summary=None)) is None


def test_a_week_without_listings_breaks_the_line():
    chart = charts.draw(_trend("fresh", Series("share", "Fresh", (50.0, None, 75.0, 100.0, 0.0)),
                               percent=True))
    assert chart is not None and chart.kind == "lines"
    (line,) = chart.lines
    assert len(line.segments) == 2 and len(line.points) == 4
    assert [label for _y, label in chart.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]
    _left, top, _right, bottom = chart.plot
    assert line.points[2][1] == top and line.points[3][1] == bottom  # 100% and 0%
    assert line.end is not None and line.end[2] == "0%"


def test_two_lines_differ_by_marker_and_dash_and_their_labels_do_not_overlap():
    chart = charts.draw(_trend("suggestions", Series("received", "Received", (1, 2, 3, 4, 5)),
                               Series("accepted", "Accepted", (1, 2, 3, 4, 5))))
    assert chart is not None
    first, second = chart.lines
    assert (first.marker, first.dash) != (second.marker, second.dash)
    assert first.end is not None and second.end is not None
    assert abs(first.end[1] - second.end[1]) >= 14
    assert {first.end[2], second.end[2]} == {"Received: 5", "Accepted: 5"}


def test_count_axes_end_on_a_round_number():
    assert charts.nice_max(0) == (1, 1)
    assert charts.nice_max(3) == (3, 1)
    assert charts.nice_max(7) == (8, 2)
    assert charts.nice_max(12) == (15, 5)
    assert charts.nice_max(37) == (40, 10)
    assert charts.nice_max(960) == (1000, 200)


def test_checks_are_one_labelled_strip_per_method_on_one_scale():
    chart = charts.draw(_trend("checks", Series("phoned", "By phone", (0, 4, 0, 0, 2)),
                               Series("imported", "From a list", (1, 0, 0, 0, 0)),
                               Series("total", "All", (1, 4, 0, 0, 2), plotted=False)))
    assert chart is not None and chart.kind == "rows"
    assert [row.label for row in chart.rows] == ["By phone (6)", "From a list (1)"]
    tallest = chart.rows[0].bars[1].h
    assert chart.rows[1].bars[0].h == round(tallest / 4, 1)
    assert [bar.value for bar in chart.rows[0].bars] == ["", "4", "", "", "2"]
