"""Server-rendered SVG history charts: a step line for numbers, a timeline for states."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from markupsafe import Markup, escape

from hub.const import STATE_UNAVAILABLE, STATE_UNKNOWN

Points = list[tuple[datetime, str]]
WIDTH, HEIGHT = 640, 160
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 8, 10, 22
_MISSING = frozenset({STATE_UNAVAILABLE, STATE_UNKNOWN, ""})
# A small fixed palette so the same state keeps its colour across charts.
_PALETTE = ("#2b8a3e", "#868e96", "#1971c2", "#e8590c", "#9c36b5", "#c92a2a", "#f08c00")
_KNOWN_COLOURS = {"on": "#2b8a3e", "off": "#adb5bd", "home": "#2b8a3e", "not_home": "#adb5bd"}


def as_number(state: str) -> float | None:
    try:
        value = float(state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _time_label(moment: datetime, span_s: float) -> str:
    return moment.strftime("%H:%M" if span_s <= 2 * 86400 else "%d %b")


def render_history(
    points: list[tuple[datetime, str]],
    start: datetime,
    end: datetime,
    *,
    title: str,
    unit: str | None = None,
) -> Markup:
    """An accessible inline SVG (role=img with a text title) of one entity's history."""
    span = max((end - start).total_seconds(), 1.0)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM

    def x_of(moment: datetime) -> float:
        offset = (max(moment, start) - start).total_seconds()
        return PAD_LEFT + plot_w * min(offset / span, 1.0)

    known = [state for _, state in points if state not in _MISSING]
    numeric = bool(known) and all(as_number(s) is not None for s in known)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#dee2e6"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        moment = start + (end - start) * fraction
        anchor = ("start", "middle", "end")[int(fraction * 2)]
        parts.append(
            f'<text x="{PAD_LEFT + plot_w * fraction:.1f}" y="{HEIGHT - 6}" font-size="11" '
            f'text-anchor="{anchor}" fill="#495057">{_time_label(moment, span)}</text>'
        )
    if not known:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" font-size="13" '
            'fill="#868e96">No history in this period</text>'
        )
    elif numeric:
        parts.extend(_numeric(points, x_of, end, plot_h, unit))
    else:
        parts.extend(_timeline(points, x_of, end, plot_h))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every dynamic text above is escaped


def _numeric(
    points: Points,
    x_of: Callable[[datetime], float],
    end: datetime,
    plot_h: float,
    unit: str | None,
) -> list[str]:
    values = [v for _, s in points if (v := as_number(s)) is not None]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1

    def y_of(value: float) -> float:
        return PAD_TOP + plot_h * (1 - (value - low) / (high - low))

    segments: list[list[str]] = []
    current: list[str] = []
    previous_y: float | None = None
    for (moment, state), nxt in zip(points, [*points[1:], (end, "")], strict=True):
        value = as_number(state)
        if value is None:
            if current:
                segments.append(current)
            current, previous_y = [], None
            continue
        x0, x1, y = x_of(moment), x_of(nxt[0]), y_of(value)
        if previous_y is not None:
            current.append(f"L{x0:.1f},{y:.1f}")
        else:
            current.append(f"M{x0:.1f},{y:.1f}")
        current.append(f"L{x1:.1f},{y:.1f}")
        previous_y = y
    if current:
        segments.append(current)
    suffix = f" {escape(unit)}" if unit else ""
    out = [
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 10}" font-size="11" text-anchor="end" '
        f'fill="#495057">{_fmt(high)}{suffix}</text>',
        f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" font-size="11" text-anchor="end" '
        f'fill="#495057">{_fmt(low)}{suffix}</text>',
    ]
    for segment in segments:
        out.append(f'<path d="{" ".join(segment)}" fill="none" stroke="#1971c2" stroke-width="2"/>')
    return out


def _timeline(
    points: Points, x_of: Callable[[datetime], float], end: datetime, plot_h: float
) -> list[str]:
    colours: dict[str, str] = {}
    out = []
    for (moment, state), nxt in zip(points, [*points[1:], (end, "")], strict=True):
        if state in _MISSING:
            continue
        colour = colours.setdefault(
            state, _KNOWN_COLOURS.get(state, _PALETTE[len(colours) % len(_PALETTE)])
        )
        x0, x1 = x_of(moment), x_of(nxt[0])
        out.append(
            f'<rect class="band" x="{x0:.1f}" y="{PAD_TOP + plot_h * 0.25:.1f}" '
            f'width="{max(x1 - x0, 0.5):.1f}" height="{plot_h * 0.5:.1f}" fill="{colour}">'
            f"<title>{escape(state)} from {moment:%H:%M:%S}</title></rect>"
        )
    legend_x = PAD_LEFT
    for state, colour in colours.items():
        out.append(
            f'<rect x="{legend_x}" y="{PAD_TOP + 2}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="{PAD_TOP + 11}" font-size="11" fill="#212529">'
            f"{escape(state)}</text>"
        )
        legend_x += 24 + 7 * len(state)
    return out
