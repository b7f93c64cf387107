"""PIR debounce and presence fusion, driven with explicit times."""

from __future__ import annotations

import pytest
from fusion import PresenceFusion
from ld2410 import RadarReport
from pir import DebouncedInput


def report(state: int, distance_cm: int = 200, energy: int = 60) -> RadarReport:
    moving = (distance_cm, energy) if state & 1 else (0, 0)
    still = (distance_cm, energy) if state & 2 else (0, 0)
    return RadarReport(False, state, moving[0], moving[1], still[0], still[1], distance_cm)


def run(fusion: PresenceFusion, timeline: list[tuple[int, int | None, bool | None]]) -> list:
    """Feed (time, radar state or None, pir or None) every 100 ms; return change times."""
    changes = []
    for now, state, pir in timeline:
        if state is not None:
            fusion.update_radar(report(state), now)
        if pir is not None:
            fusion.update_pir(pir, now)
        if fusion.evaluate(now):
            changes.append((now, fusion.occupied))
    return changes


def every_100ms(start: int, end: int, state: int | None, pir: bool | None = None) -> list:
    return [(t, state, pir) for t in range(start, end, 100)]


def test_pir_needs_a_stable_level_before_it_counts() -> None:
    pir = DebouncedInput(settle_ms=60)
    assert not pir.update(1, 0)
    assert not pir.update(0, 30)  # a 30 ms glitch
    assert not pir.update(1, 40)
    assert not pir.update(1, 90)
    assert pir.update(1, 100) and pir.state
    assert not pir.update(1, 500)
    assert not pir.update(0, 600)
    assert pir.update(0, 660) and not pir.state


def test_radar_turns_occupancy_on_after_the_latency_and_off_after_the_hold() -> None:
    fusion = PresenceFusion(on_latency_ms=500, hold_ms=3000)
    changes = run(fusion, every_100ms(0, 2000, 1) + every_100ms(2000, 6000, 0))
    assert changes == [(500, True), (4900, False)]  # last detection at 1900 + 3000


def test_short_radar_bursts_from_a_fan_never_turn_occupancy_on() -> None:
    fusion = PresenceFusion(on_latency_ms=500)
    timeline = []
    for second in range(10):
        timeline += every_100ms(second * 1000, second * 1000 + 300, 1)
        timeline += every_100ms(second * 1000 + 300, second * 1000 + 1000, 0)
    assert run(fusion, timeline) == []


def test_pir_confirms_at_once_and_the_hold_runs_from_the_last_detection() -> None:
    fusion = PresenceFusion(on_latency_ms=2000, hold_ms=1000)
    changes = run(fusion, every_100ms(0, 300, 0, True) + every_100ms(300, 2000, 0, False))
    assert changes == [(0, True), (1200, False)]


@pytest.mark.parametrize(("distance", "energy"), [(450, 80), (200, 10)])
def test_targets_beyond_distance_or_below_energy_are_ignored(distance: int, energy: int) -> None:
    fusion = PresenceFusion(on_latency_ms=0, max_distance_cm=300, min_energy=30)
    for now in range(0, 1000, 100):
        fusion.update_radar(report(2, distance, energy), now)
        fusion.evaluate(now)
    assert not fusion.occupied


def test_settings_changed_while_running_take_effect() -> None:
    fusion = PresenceFusion(on_latency_ms=0, hold_ms=60000)
    run(fusion, every_100ms(0, 500, 2))
    assert fusion.occupied
    fusion.hold_ms = 1000
    assert run(fusion, every_100ms(500, 3000, 0)) == [(1400, False)]


def test_a_radar_that_goes_silent_counts_as_nobody_there() -> None:
    fusion = PresenceFusion(on_latency_ms=0, hold_ms=1000)
    run(fusion, every_100ms(0, 500, 1))
    assert fusion.occupied
    changes = run(fusion, [(t, None, None) for t in range(500, 5000, 100)])
    assert changes and changes[0][1] is False
