"""Presence fusion: occupancy = radar OR PIR, with on-latency, off-delay and thresholds.

Radar-only detections must last ``on_latency_ms`` before occupancy turns on (fans,
curtains and plants make short false detections); a PIR trigger confirms at once.
Occupancy turns off only after nothing was detected for ``hold_ms``. Radar targets
farther than ``max_distance_cm`` or weaker than ``min_energy`` are ignored, and a radar that
stops reporting counts as seeing nobody. All fields can be changed while running.
"""

import clock
from ld2410 import RadarReport
from presence_const import RADAR_STALE_MS


class PresenceFusion:
    def __init__(
        self,
        on_latency_ms: int = 500,
        hold_ms: int = 15000,
        max_distance_cm: int = 600,
        min_energy: int = 30,
    ) -> None:
        self.on_latency_ms = on_latency_ms
        self.hold_ms = hold_ms
        self.max_distance_cm = max_distance_cm
        self.min_energy = min_energy
        self.occupied = False
        self.pir_active = False
        self.radar_present = False
        self.last_report = None
        self._report_at = None
        self._radar_since = None
        self._last_seen = None

    def _target_counts(self, distance_cm: int, energy: int) -> bool:
        return distance_cm <= self.max_distance_cm and energy >= self.min_energy

    def radar_sees(self, report: RadarReport) -> bool:
        """Whether a report shows a target inside the distance and energy limits."""
        state = report.target_state
        moving = state & 1 and self._target_counts(report.moving_distance_cm, report.moving_energy)
        still = state & 2 and self._target_counts(report.still_distance_cm, report.still_energy)
        return bool(moving or still)

    def update_radar(self, report: RadarReport, now_ms: int) -> None:
        self.last_report = report
        self._report_at = now_ms
        self._set_radar(self.radar_sees(report), now_ms)

    def _set_radar(self, present: bool, now_ms: int) -> None:
        if present and not self.radar_present:
            self._radar_since = now_ms
        self.radar_present = present

    def update_pir(self, active: bool, now_ms: int) -> None:
        self.pir_active = bool(active)

    def evaluate(self, now_ms: int) -> bool:
        """Recompute occupancy; return True when it changed."""
        if (
            self._report_at is not None
            and self.radar_present
            and clock.ticks_diff(now_ms, self._report_at) > RADAR_STALE_MS
        ):
            self._set_radar(False, now_ms)
        radar_confirmed = (
            self.radar_present and clock.ticks_diff(now_ms, self._radar_since) >= self.on_latency_ms
        )
        detected = self.pir_active or radar_confirmed
        if detected:
            self._last_seen = now_ms
            if not self.occupied:
                self.occupied = True
                return True
            return False
        if not self.occupied:
            return False
        # Still "seen" while the radar is in its on-latency: not a confirmation, but not
        # evidence of absence either, so the hold keeps running from the last confirmed time.
        if clock.ticks_diff(now_ms, self._last_seen) >= self.hold_ms:
            self.occupied = False
            return True
        return False
