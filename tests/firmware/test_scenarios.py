"""Simulator scenarios played in virtual time through the real parser and fusion.

The simulated radar writes real LD2410 byte frames (with noise bytes mixed in); the
firmware's driver parses them and the fusion decides occupancy, as on the device.
"""

from __future__ import annotations

import ble_presence
import fusion
import ld2410
import pytest

from firmware.simulator.radar import SimulatedLD2410
from firmware.simulator.scenarios import SCENARIOS, ScenarioPlayer, SimulatedPhone


class VirtualClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def play(name: str, seconds: int) -> tuple[list[tuple[float, bool]], SimulatedLD2410, int]:
    """Run a scenario for ``seconds``; return occupancy changes (s), the radar, reports parsed."""
    clock = VirtualClock()
    player = ScenarioPlayer(SCENARIOS[name], 0)
    radar = SimulatedLD2410(player.target_at, clock, noise_every_ms=700)
    presence = fusion.PresenceFusion(on_latency_ms=500, hold_ms=15000, min_energy=30)
    reports: list[ld2410.RadarReport] = []

    def on_report(report: ld2410.RadarReport) -> None:
        reports.append(report.copy())
        presence.update_radar(report, clock.now)

    driver = ld2410.LD2410(radar, on_report=on_report)
    changes = []
    for now in range(0, seconds * 1000, 20):
        clock.now = now
        driver.poll()
        presence.update_pir(player.pir_at(now), now)
        if presence.evaluate(now):
            changes.append((now / 1000, presence.occupied))
    return changes, radar, len(reports)


def test_someone_comes_stays_and_leaves_on_a_loop() -> None:
    changes, radar, parsed = play("someone", 2 * 57)
    # Enters at 8 s (PIR confirms at once), leaves at 35 s, hold 15 s, then again next cycle.
    assert [on for _, on in changes] == [True, False, True, False]
    assert changes[0][0] == pytest.approx(8.1, abs=0.2)
    assert changes[1][0] == pytest.approx(35 + 15, abs=0.5)
    assert changes[2][0] == pytest.approx(57 + 8.1, abs=0.2)
    assert parsed == radar.frames_sent  # the noise bytes cost no frame


def test_a_fan_never_makes_the_room_occupied() -> None:
    changes, radar, parsed = play("fan", 40)
    assert changes == []
    assert parsed == radar.frames_sent


def test_a_pet_is_detected_the_radar_alone_cannot_tell() -> None:
    changes, _, _ = play("pet", 46)
    assert [on for _, on in changes] == [True, False]


def test_the_simulated_phone_is_located_near_the_person_and_gone_with_them() -> None:
    player = ScenarioPlayer(SCENARIOS["someone"], 0)
    phone = SimulatedPhone(player)
    tracker = ble_presence.BeaconTracker([{"uuid": SimulatedPhone.UUID, "label": "phone"}])
    for now in range(12000, 32000, 250):  # sitting still 1.5 m away
        result = phone.scan_result(now)
        assert result is not None
        tracker.observe(*result, now)
    label, metres = tracker.nearest(32000)
    assert label == "phone" and 1.0 < metres < 2.2
    assert phone.scan_result(40000) is None  # left at 35 s, phone with them
    assert tracker.nearest(50000) is None  # and the window forgot it
