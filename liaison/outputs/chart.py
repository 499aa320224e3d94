"""The indicators chart, laid out on the server and drawn as inline SVG by a template.

Bars: median time from sending to receipt (hours, left axis). Line: share of discharge
letters sent on the day of discharge (percent, right axis). No script, no CDN, no inline
style (the Content-Security-Policy forbids them): only SVG geometry and classes that
static/css/indicators.css colours. The table next to it holds the same figures for readers
who cannot see the chart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from liaison.outputs.indicators import MonthRow, month_name

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 20, 44
MONTHS_FR = [
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    bars: list[Bar]
    lines: list[str]  # polyline "x,y x,y …" segments (a month without letters breaks the line)
    points: list[Point]
    hour_ticks: list[Tick]
    share_ticks: list[Tick]
    month_labels: list[Tick]
    has_data: bool

    @property
    def center_x(self) -> float:
        return self.width / 2

    @property
    def center_y(self) -> float:
        return (self.top + self.bottom) / 2


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (an axis maximum)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTHS_FR[int(number) - 1]} {year[2:]}"


def _number(value: float) -> str:
    """French decimal, as short as it can be: 12 · 2,5 · 0,25."""
    return f"{value:.2f}".rstrip("0").rstrip(".").replace(".", ",")


def liaison_chart(rows: list[MonthRow]) -> Chart:
    """Coordinates of the bars, line, ticks and labels for these months."""
    right_edge, bottom_edge = WIDTH - RIGHT, HEIGHT - BOTTOM
    plot_width, plot_height = right_edge - LEFT, bottom_edge - TOP
    slot = plot_width / max(1, len(rows))
    hours = [row.receipt_hours_median for row in rows if row.receipt_hours_median is not None]
    top_hours = nice_ceiling(max(hours, default=0.0))

    def y_hours(value: float) -> float:
        return round(bottom_edge - plot_height * value / top_hours, 1)

    def y_share(value: float) -> float:
        return round(bottom_edge - plot_height * value, 1)

    bars, points, lines, segment = [], [], [], []
    labels = []
    every = max(1, math.ceil(len(rows) / 12))  # at most ~12 month labels
    for index, row in enumerate(rows):
        center = LEFT + slot * (index + 0.5)
        if index % every == 0:
            labels.append(Tick(round(center, 1), month_label(row.month)))
        if row.receipt_hours_median is not None:
            top = y_hours(row.receipt_hours_median)
            bars.append(
                Bar(
                    x=round(center - slot * 0.3, 1),
                    y=top,
                    width=round(slot * 0.6, 1),
                    height=round(bottom_edge - top, 1),
                    title=f"{month_name(row.month)} : {_number(row.receipt_hours_median)} h",
                )
            )
        if row.discharge_same_day_share is None:
            if segment:
                lines.append(" ".join(segment))
            segment = []
            continue
        y = y_share(row.discharge_same_day_share)
        segment.append(f"{round(center, 1)},{y}")
        points.append(
            Point(
                round(center, 1),
                y,
                f"{month_name(row.month)} : {_number(row.discharge_same_day_share * 100)} %",
            )
        )
    if segment:
        lines.append(" ".join(segment))
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right_edge,
        top=TOP,
        bottom=bottom_edge,
        bars=bars,
        lines=lines,
        points=points,
        hour_ticks=[Tick(y_hours(top_hours * i / 4), _number(top_hours * i / 4)) for i in range(5)],
        share_ticks=[Tick(y_share(i / 4), f"{25 * i} %") for i in range(5)],
        month_labels=labels,
        has_data=bool(bars or points),
    )
