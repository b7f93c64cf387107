"""Scenarios for the simulator: timelines of what the radar and the PIR see.

Each phase lasts a fixed time; distances move linearly from ``start_cm`` to ``end_cm``.
Scenarios loop. ``someone`` is the default: someone comes, stays, leaves.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from firmware.simulator.radar import NO_TARGET, RadarTarget

MOVING, STILL, BOTH = 1, 2, 3


@dataclass(frozen=True)
class Phase:
    label: str
    duration_ms: int
    state: int = 0
    start_cm: int = 0
    end_cm: int = 0
    energy: int = 0
    pir: bool = False
    # The person carries a phone that the BLE scanner can see.
    phone: bool = False
    # For flickering sources (fans): on for `pulse_ms`, off for the rest of `period_ms`.
    period_ms: int = 0
    pulse_ms: int = 0

    def target(self, offset_ms: int) -> RadarTarget:
        if not self.state:
            return NO_TARGET
        if self.period_ms and offset_ms % self.period_ms >= self.pulse_ms:
            return NO_TARGET
        fraction = offset_ms / self.duration_ms
        distance = round(self.start_cm + (self.end_cm - self.start_cm) * fraction)
        moving = (distance, self.energy) if self.state & MOVING else (0, 0)
        still = (distance, self.energy) if self.state & STILL else (0, 0)
        return RadarTarget(self.state, moving[0], moving[1], still[0], still[1])


SCENARIOS: dict[str, tuple[Phase, ...]] = {
    "someone": (
        Phase("room empty", 8000),
        Phase("someone enters", 4000, MOVING, 450, 150, 80, pir=True, phone=True),
        Phase("someone sits still", 20000, STILL, 150, 150, 55, phone=True),
        Phase("someone leaves", 3000, BOTH, 150, 450, 70, pir=True, phone=True),
        Phase("room empty", 22000),
    ),
    "fan": (
        # A fan 2.5 m away: weak, short bursts of "movement", no heat for the PIR.
        Phase("fan running", 30000, MOVING, 250, 250, 45, period_ms=1000, pulse_ms=300),
        Phase("fan off", 10000),
    ),
    "pet": (
        Phase("room empty", 8000),
        Phase("cat walks by", 3000, MOVING, 300, 100, 40, pir=True),
        Phase("cat sleeps", 15000, STILL, 100, 100, 20),
        Phase("room empty", 20000),
    ),
    "empty": (Phase("room empty", 60000),),
}
DEFAULT_SCENARIO = "someone"


class ScenarioPlayer:
    """Answers "what is happening at time t" for a looping scenario."""

    def __init__(self, phases: tuple[Phase, ...], start_ms: int) -> None:
        self.phases = phases
        self.start_ms = start_ms
        self.cycle_ms = sum(phase.duration_ms for phase in phases)

    def phase_at(self, now_ms: int) -> tuple[Phase, int]:
        offset = (now_ms - self.start_ms) % self.cycle_ms
        for phase in self.phases:
            if offset < phase.duration_ms:
                return phase, offset
            offset -= phase.duration_ms
        raise AssertionError("unreachable: offset is inside the cycle")

    def target_at(self, now_ms: int) -> RadarTarget:
        phase, offset = self.phase_at(now_ms)
        return phase.target(offset)

    def pir_at(self, now_ms: int) -> bool:
        phase, offset = self.phase_at(now_ms)
        # A PIR sees heat *moving*: it fires during the first seconds of a moving phase.
        return phase.pir and offset < 2500


def ibeacon_advertisement(
    uuid_hex: str, measured_power: int, major: int = 1, minor: int = 2
) -> bytes:
    """Flags plus Apple iBeacon manufacturer data, as a phone beacon app sends them."""
    body = (
        b"\x4c\x00\x02\x15"
        + bytes.fromhex(uuid_hex)
        + major.to_bytes(2, "big")
        + minor.to_bytes(2, "big")
        + (measured_power & 0xFF).to_bytes(1, "big")
    )
    return b"\x02\x01\x06" + bytes((len(body) + 1, 0xFF)) + body


class SimulatedPhone:
    """A phone running an iBeacon app, carried by the scenario's person.

    RSSI follows the log-distance model with the usual jitter and an occasional reflection
    outlier, so the firmware's median filter has something to do.
    """

    UUID = "e2c56db5dffb48d2b060d0f5a71096e0"
    MEASURED_POWER = -59
    ABSORPTION = 2.7
    ADVERTISEMENT = ibeacon_advertisement(UUID, MEASURED_POWER)

    def __init__(self, player: ScenarioPlayer, seed: int = 11) -> None:
        self._player = player
        self._random = random.Random(seed)

    def scan_result(self, now_ms: int) -> tuple[int, bytes] | None:
        """(rssi, advertising data) if the phone is in range now, else None."""
        phase, offset = self._player.phase_at(now_ms)
        if not phase.phone:
            return None
        target = phase.target(offset)
        metres = max(0.2, target.detection_cm / 100)
        rssi = self.MEASURED_POWER - 10 * self.ABSORPTION * math.log10(metres)
        rssi += self._random.gauss(0, 2)
        if self._random.random() < 0.1:
            rssi += self._random.choice((-25, 20))
        return round(rssi), self.ADVERTISEMENT


class SimulatedPin:
    """A ``machine.Pin``-like input whose level follows the scenario."""

    def __init__(self, player: ScenarioPlayer, ticks_ms) -> None:
        self._player = player
        self._ticks_ms = ticks_ms

    def value(self) -> int:
        return int(self._player.pir_at(self._ticks_ms()))
