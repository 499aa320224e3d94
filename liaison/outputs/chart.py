"""The indicators chart, laid out on the server and drawn as inline SVG by a template.

One measure: the referrals (fiches d'entrée) sent each month, as bars, each labelled with
its figure. The delays and the discharge letters are in the table: a chart of two measures on
two axes read badly, and the demo's delays (a few minutes) drew nothing. No script, no CDN,
no inline style (the Content-Security-Policy forbids them): only SVG geometry and classes that
static/css/indicators.css colours. The table next to it holds the same figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.translation import gettext, pgettext_lazy

from liaison.outputs.indicators import MonthRow

WIDTH, HEIGHT = 760, 280
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 24, 44
MONTHS_FR = [
    pgettext_lazy("abbreviated month", "janv."),
    pgettext_lazy("abbreviated month", "févr."),
    pgettext_lazy("abbreviated month", "mars"),
    pgettext_lazy("abbreviated month", "avr."),
    pgettext_lazy("abbreviated month", "mai"),
    pgettext_lazy("abbreviated month", "juin"),
    pgettext_lazy("abbreviated month", "juil."),
    pgettext_lazy("abbreviated month", "août"),
    pgettext_lazy("abbreviated month", "sept."),
    pgettext_lazy("abbreviated month", "oct."),
    pgettext_lazy("abbreviated month", "nov."),
    pgettext_lazy("abbreviated month", "déc."),
]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    value: str
    label_x: float
    label_y: float


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
    ticks: list[Tick]
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
    """Coordinates of the bars, their labels, the ticks and the months for these months."""
    right_edge, bottom_edge = WIDTH - RIGHT, HEIGHT - BOTTOM
    plot_width, plot_height = right_edge - LEFT, bottom_edge - TOP
    slot = plot_width / max(1, len(rows))
    top_count = max(4.0, nice_ceiling(max((row.referrals_sent for row in rows), default=0)))

    def y_count(value: float) -> float:
        return round(bottom_edge - plot_height * value / top_count, 1)

    bars, labels = [], []
    every = max(1, math.ceil(len(rows) / 6))  # at most ~6 month labels: they stay legible
    for index, row in enumerate(rows):
        center = LEFT + slot * (index + 0.5)
        if index % every == 0:
            labels.append(Tick(round(center, 1), month_label(row.month)))
        if not row.referrals_sent:
            continue
        top = y_count(row.referrals_sent)
        bars.append(
            Bar(
                x=round(center - slot * 0.3, 1),
                y=top,
                width=round(slot * 0.6, 1),
                height=round(bottom_edge - top, 1),
                title=gettext("%(label)s : %(value)s")
                % {"label": month_label(row.month), "value": row.referrals_sent},
                value=str(row.referrals_sent),
                label_x=round(center, 1),
                label_y=round(top - 4, 1),
            )
        )
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=right_edge,
        top=TOP,
        bottom=bottom_edge,
        bars=bars,
        ticks=[Tick(y_count(top_count * i / 4), _number(top_count * i / 4)) for i in range(5)],
        month_labels=labels,
        has_data=bool(bars),
    )
