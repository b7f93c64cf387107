"""Sparklines: drawn from numeric history only, reused while nothing changed, bounded."""

from __future__ import annotations

import re

from hub.web.sparkline import SparklineCache, render_sparkline, window_end


def test_a_line_is_drawn_from_numbers_and_nothing_for_no_numbers() -> None:
    line = render_sparkline([(0.0, "10"), (50.0, "unknown"), (60.0, "20")], 0.0, 100.0, title="T")
    assert line is not None
    path = re.search(r'd="([^"]+)"', line).group(1)  # type: ignore[union-attr]
    assert path.startswith("M2.0,26.0")  # the low value at the bottom left
    assert path.endswith("L118.0,2.0")  # the high value held to the right edge
    assert "<title>T</title>" in line
    assert render_sparkline([(0.0, "off"), (1.0, "unavailable")], 0.0, 10.0, title="T") is None
    assert "&lt;b&gt;" in str(render_sparkline([(0.0, "1")], 0.0, 1.0, title="<b>"))


def test_a_sensor_newer_than_the_window_fills_the_line_from_its_first_value() -> None:
    day_end = 86_400.0
    first_seen = day_end - 1200.0  # twenty minutes of a day's window
    points = [(first_seen, "10"), (first_seen + 600.0, "20")]

    line = render_sparkline(points, 0.0, day_end, title="T")

    path = re.search(r'd="([^"]+)"', str(line)).group(1)  # type: ignore[union-attr]
    assert path.startswith("M2.0,26.0")  # from the left edge, not squeezed to the right
    assert "L60.0,26.0L60.0,2.0" in path  # the change halfway through its history


def test_a_sensor_seen_moments_ago_still_spans_a_readable_period() -> None:
    line = render_sparkline([(995.0, "1"), (999.0, "2")], 0.0, 1000.0, title="T")
    path = re.search(r'd="([^"]+)"', str(line)).group(1)  # type: ignore[union-attr]
    first_x = float(path[1:].split(",")[0])
    assert first_x > 100.0  # ten minutes at least: four seconds stay near the right edge


def test_the_cache_reuses_a_line_for_the_same_stamp_and_stays_bounded() -> None:
    cache = SparklineCache(max_lines=2)
    assert cache.lookup("sensor.a", 1) == (False, None)
    line = render_sparkline([(0.0, "1")], 0.0, 1.0, title="a")
    cache.store("sensor.a", 1, line)
    assert cache.lookup("sensor.a", 1) == (True, line)
    assert cache.lookup("sensor.a", 2) == (False, None)  # new history or a later minute
    cache.store("sensor.b", 1, None)
    cache.store("sensor.c", 1, None)
    assert cache.lookup("sensor.a", 1) == (False, None)  # the least recently used went
    assert cache.lookup("sensor.c", 1) == (True, None)
    assert window_end(61.0) == 120.0 and window_end(120.0) == 120.0
