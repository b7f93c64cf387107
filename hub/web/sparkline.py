"""Small server-rendered SVG sparklines for the home page: a sensor's last hours at a glance,
drawn from the hub's own history (no script, no third-party request)."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable

from markupsafe import Markup, escape

from hub.web.charts import as_number

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 28, 2
SPARK_STEP_S = 60.0  # the window's end moves in whole minutes (a 24 h line: < 0.1 px)
SPARK_CACHE_MAX = 2000  # lines kept drawn, about 1 kB each
SPARK_MIN_SPAN_S = 600.0  # a history younger than the window is drawn over at least this


def render_sparkline(
    points: list[tuple[float, str]], start: float, end: float, *, title: str
) -> Markup | None:
    """A step line of the numeric states in [start, end] (UTC epoch seconds); None when
    there is nothing to draw (no numbers in the period). A sensor first seen after ``start``
    is drawn from its first value, so a new device's minutes fill the line instead of
    squeezing into the right edge of a day."""
    numbers = [(ts, v) for ts, state in points if (v := as_number(state)) is not None]
    if not numbers:
        return None
    start = max(start, min(min(ts for ts, _ in numbers), end - SPARK_MIN_SPAN_S))
    values = [v for _, v in numbers]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 1, high + 1
    x_scale = (SPARK_WIDTH - 2 * SPARK_PAD) / max(end - start, 1.0)
    y_scale = (SPARK_HEIGHT - 2 * SPARK_PAD) / (high - low)
    right = SPARK_WIDTH - SPARK_PAD
    xs = [min(max(SPARK_PAD + (ts - start) * x_scale, SPARK_PAD), right) for ts, _ in numbers]
    xs.append(right)
    path: list[str] = []
    for index, value in enumerate(values):
        y = SPARK_PAD + (high - value) * y_scale
        path.append(f"{'L' if index else 'M'}{xs[index]:.1f},{y:.1f}L{xs[index + 1]:.1f},{y:.1f}")
    return Markup(  # noqa: S704 - the only text, the title, is escaped
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" width="{SPARK_WIDTH}" '
        f'height="{SPARK_HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<path d="{"".join(path)}" fill="none" stroke="#1971c2" stroke-width="1.5"/></svg>'
    )


class SparklineCache:
    """Sparklines already drawn, by entity, with the stamp they were drawn for (the window's
    end in whole minutes and the entity's last update): while both hold, the line is reused
    without reading history. Bounded: the least recently used lines go beyond ``max_lines``."""

    def __init__(self, max_lines: int = SPARK_CACHE_MAX) -> None:
        self._max_lines = max_lines
        self._lines: OrderedDict[str, tuple[Hashable, Markup | None]] = OrderedDict()

    def lookup(self, entity_id: str, stamp: Hashable) -> tuple[bool, Markup | None]:
        """(found, line) for the entity's line drawn at ``stamp``."""
        found = self._lines.get(entity_id)
        if found is None or found[0] != stamp:
            return False, None
        self._lines.move_to_end(entity_id)
        return True, found[1]

    def store(self, entity_id: str, stamp: Hashable, line: Markup | None) -> None:
        self._lines[entity_id] = (stamp, line)
        self._lines.move_to_end(entity_id)
        while len(self._lines) > self._max_lines:
            self._lines.popitem(last=False)


def window_end(now: float) -> float:
    """The end of a sparkline's window: ``now`` rounded up to the minute."""
    return math.ceil(now / SPARK_STEP_S) * SPARK_STEP_S
