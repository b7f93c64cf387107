"""Small server-rendered SVG sparklines for the home page: a sensor's last hours at a glance,
drawn from the hub's own history (no script, no third-party request)."""

from __future__ import annotations

from datetime import datetime

from markupsafe import Markup, escape

from hub.web.charts import as_number

SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 120, 28, 2


def render_sparkline(
    points: list[tuple[datetime, str]], start: datetime, end: datetime, *, title: str
) -> Markup | None:
    """A step line of the numeric states in [start, end]; None when there is nothing to
    draw (no numbers in the period)."""
    numbers = [(moment, v) for moment, state in points if (v := as_number(state)) is not None]
    if not numbers:
        return None
    span = max((end - start).total_seconds(), 1.0)
    low = min(v for _, v in numbers)
    high = max(v for _, v in numbers)
    if high == low:
        low, high = low - 1, high + 1
    inner_w, inner_h = SPARK_WIDTH - 2 * SPARK_PAD, SPARK_HEIGHT - 2 * SPARK_PAD

    def x_of(moment: datetime) -> float:
        offset = min(max((moment - start).total_seconds(), 0.0), span)
        return SPARK_PAD + inner_w * offset / span

    def y_of(value: float) -> float:
        return SPARK_PAD + inner_h * (1 - (value - low) / (high - low))

    path: list[str] = []
    for index, (moment, value) in enumerate(numbers):
        x, y = x_of(moment), y_of(value)
        path.append(f"{'M' if index == 0 else 'L'}{x:.1f},{y:.1f}")
        following = numbers[index + 1][0] if index + 1 < len(numbers) else end
        path.append(f"L{x_of(following):.1f},{y:.1f}")
    return Markup(  # noqa: S704 - the only text, the title, is escaped
        f'<svg class="spark" viewBox="0 0 {SPARK_WIDTH} {SPARK_HEIGHT}" width="{SPARK_WIDTH}" '
        f'height="{SPARK_HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>"
        f'<path d="{" ".join(path)}" fill="none" stroke="#1971c2" stroke-width="1.5"/></svg>'
    )
