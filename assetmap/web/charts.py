"""Geometry for the trend charts, drawn as inline SVG by templates/coordinator/_trends.html.

Only numbers and the trends' own words come out of here; the template writes the markup, so
every piece of text is escaped by Jinja. Charts scale to their box (a viewBox, no fixed
width), so they never make a phone scroll sideways. Series are told apart without colour:
each line has its own marker and dash and is labelled at its end, and the checks chart draws
each method as its own labelled strip (small multiples).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from assetmap.coordination.trends import Series, Trend

WIDTH = 480
LEFT, RIGHT, TOP, BOTTOM = 48, 96, 14, 30
HEIGHT = 190
ROW = 44  # one method's strip of bars in the checks chart
AXIS = 24  # the strip of week labels under them
MAX_X_LABELS = 6
#: Line styles in series order: marker shape and dash pattern.
STYLES: tuple[tuple[str, str], ...] = (("circle", ""), ("square", "7 4"), ("triangle", "2 3"))


@dataclass
class Line:
    label: str
    marker: str
    dash: str
    segments: list[str]
    points: list[tuple[float, float, str]]  # x, y, "2 Mar: 5"
    end: tuple[float, float, str] | None  # the direct label: x, y, text


@dataclass
class Bar:
    x: float
    y: float
    w: float
    h: float
    title: str
    value: str


@dataclass
class Row:
    """One method's strip of bars (its own small SVG, `ROW` high; the label is HTML above it,
    so a long method name wraps instead of running off the chart)."""

    label: str
    bars: list[Bar]


@dataclass
class Chart:
    kind: str  # lines / bars / rows
    width: int
    height: int
    plot: tuple[float, float, float, float]  # left, top, right, bottom
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def nice_max(value: float) -> tuple[float, float]:
    """A round top for the axis at or above `value`, and the step between its ticks."""
    if value <= 0:
        return 1, 1
    magnitude = 10 ** math.floor(math.log10(value))
    for mult in (0.1, 0.2, 0.5, 1, 2, 5, 10):
        step = max(1.0, mult * magnitude)
        if math.ceil(value / step) <= 5:
            return step * math.ceil(value / step), step
    return value, value  # not reached: 10 * magnitude always fits


def _fmt(value: Any, percent: bool) -> str:
    if value is None:
        return "no data"
    if percent:
        return f"{round(value)}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _x_labels(trend: Trend, xs: list[float]) -> list[tuple[float, str]]:
    n = len(trend.weeks)
    every = max(1, math.ceil(n / MAX_X_LABELS))
    return [(xs[i], trend.weeks[i].label) for i in range(n - 1, -1, -every)][::-1]


def draw(trend: Trend) -> Chart | None:
    """The chart for a trend; None when there is nothing to draw yet."""
    if trend.summary is None:
        return None
    if trend.key == "checks":
        return _rows(trend)
    return _lines(trend) if trend.key in ("fresh", "suggestions") else _bars(trend)


def _frame(trend: Trend, top_value: float, height: int = HEIGHT
           ) -> tuple[Chart, list[float], float, float]:
    left, top, right, bottom = LEFT, TOP, WIDTH - RIGHT, height - BOTTOM
    step = (right - left) / max(1, len(trend.weeks))
    xs = [left + (i + 0.5) * step for i in range(len(trend.weeks))]
    chart = Chart("", WIDTH, height, (left, top, right, bottom), x_labels=_x_labels(trend, xs))
    if trend.percent:
        axis_top, tick = 100.0, 25.0
    else:
        axis_top, tick = nice_max(top_value)
    ticks = int(round(axis_top / tick))
    chart.y_ticks = [(bottom - (bottom - top) * k / ticks,
                      _fmt(tick * k, trend.percent)) for k in range(ticks + 1)]
    return chart, xs, axis_top, step


def _y(value: float, axis_top: float, chart: Chart) -> float:
    _left, top, _right, bottom = chart.plot
    return round(bottom - (bottom - top) * value / axis_top, 1)


def _lines(trend: Trend) -> Chart:
    plotted = trend.plotted
    top_value = max((v for s in plotted for v in s.values if v is not None), default=0)
    chart, xs, axis_top, _step = _frame(trend, top_value)
    chart.kind = "lines"
    for index, series in enumerate(plotted):
        marker, dash = STYLES[index % len(STYLES)]
        points = [(round(xs[i], 1), _y(v, axis_top, chart),
                   f"week of {trend.weeks[i].label}: {_fmt(v, trend.percent)}")
                  for i, v in enumerate(series.values) if v is not None]
        chart.lines.append(Line(series.label, marker, dash, _segments(series, xs, axis_top,
                                                                      chart), points, None))
    _end_labels(chart, plotted, trend.percent)
    return chart


def _segments(series: Series, xs: list[float], axis_top: float, chart: Chart) -> list[str]:
    """Polyline point lists, broken where a week has no value."""
    out: list[str] = []
    run: list[str] = []
    for i, value in enumerate(series.values):
        if value is None:
            if run:
                out.append(" ".join(run))
            run = []
            continue
        run.append(f"{round(xs[i], 1)},{_y(value, axis_top, chart)}")
    if run:
        out.append(" ".join(run))
    return out


def _end_labels(chart: Chart, plotted: tuple[Series, ...], percent: bool) -> None:
    """Each line named at its last point, nudged apart when two would overlap."""
    ends: list[tuple[Line, float, float, str]] = []
    for line, series in zip(chart.lines, plotted, strict=True):
        if not line.points:
            continue
        x, y, _title = line.points[-1]
        last = next(v for v in reversed(series.values) if v is not None)
        value = _fmt(last, percent)
        ends.append((line, x, y, f"{series.label}: {value}" if len(plotted) > 1 else value))
    ends.sort(key=lambda end: end[2])
    floor = -math.inf
    for line, x, y, text in ends:
        y = max(y, floor + 14)
        floor = y
        line.end = (x + 8, y + 4, text)


def _bars(trend: Trend) -> Chart:
    series = trend.plotted[0]
    chart, xs, axis_top, step = _frame(trend, max(series.values, default=0))
    chart.kind = "bars"
    width = step * 0.7
    for i, value in enumerate(series.values):
        y = _y(value, axis_top, chart)
        chart.bars.append(Bar(round(xs[i] - width / 2, 1), y, round(width, 1),
                              round(chart.plot[3] - y, 1),
                              f"week of {trend.weeks[i].label}: {value} "
                              f"{series.label.lower()}", str(value) if value else ""))
    return chart


def _rows(trend: Trend) -> Chart:
    """A strip of bars per method, all on the same scale, each named above its strip; the
    week labels in a strip of their own (`height` is that strip's)."""
    plotted = trend.plotted
    top_value = max((v for s in plotted for v in s.values), default=0) or 1
    left, right = 4, WIDTH - 24  # no axis and no end labels; room for the last week's label
    step = (right - left) / max(1, len(trend.weeks))
    xs = [left + (i + 0.5) * step for i in range(len(trend.weeks))]
    chart = Chart("rows", WIDTH, AXIS, (left, 0, right, ROW - 2), x_labels=_x_labels(trend, xs))
    width = step * 0.7
    base = ROW - 2
    bar_room = ROW - 18  # the tallest bar's value stands above it
    for series in plotted:
        bars = []
        for i, value in enumerate(series.values):
            h = round(bar_room * value / top_value, 1)
            bars.append(Bar(round(xs[i] - width / 2, 1), round(base - h, 1), round(width, 1),
                            h, f"week of {trend.weeks[i].label}: {value}",
                            str(value) if value else ""))
        chart.rows.append(Row(f"{series.label} ({sum(series.values)})", bars))
    return chart
