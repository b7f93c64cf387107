"""A simulated HLK-LD2410 on a simulated UART: real report bytes out, ACKs to commands.

It offers the ``write``/``any``/``readinto`` subset of ``machine.UART`` the firmware
driver uses. Frames are encoded here, independently of the firmware's parser, so the two
check each other. Report frames follow a :class:`ScenarioPlayer` at 10 Hz; while the radar
is in configuration mode it stops reporting, as the real module does.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass

REPORT_HEAD = bytes.fromhex("f4f3f2f1")
REPORT_TAIL = bytes.fromhex("f8f7f6f5")
COMMAND_HEAD = bytes.fromhex("fdfcfbfa")
COMMAND_TAIL = bytes.fromhex("04030201")
REPORT_PERIOD_MS = 100
GATES = 9


@dataclass(frozen=True)
class RadarTarget:
    """What the radar reports: state 0 none, 1 moving, 2 still, 3 both."""

    state: int = 0
    moving_cm: int = 0
    moving_energy: int = 0
    still_cm: int = 0
    still_energy: int = 0

    @property
    def detection_cm(self) -> int:
        distances = [d for d, bit in ((self.moving_cm, 1), (self.still_cm, 2)) if self.state & bit]
        return min(distances) if distances else 0


NO_TARGET = RadarTarget()


def _report_frame(kind: int, target: RadarTarget, extra: bytes = b"") -> bytes:
    payload = (
        struct.pack(
            "<BBBHBHBH",
            kind,
            0xAA,
            target.state,
            target.moving_cm,
            target.moving_energy,
            target.still_cm,
            target.still_energy,
            target.detection_cm,
        )
        + extra
        + b"\x55\x00"
    )
    return REPORT_HEAD + struct.pack("<H", len(payload)) + payload + REPORT_TAIL


def basic_report_frame(target: RadarTarget) -> bytes:
    return _report_frame(0x02, target)


def engineering_report_frame(
    target: RadarTarget, moving_gates: bytes, still_gates: bytes, light: int = 0, out: int = 0
) -> bytes:
    gates = bytes((len(moving_gates) - 1, len(still_gates) - 1)) + moving_gates + still_gates
    return _report_frame(0x01, target, gates + bytes((light, out)))


def ack_frame(command: int, status: int = 0, data: bytes = b"") -> bytes:
    body = struct.pack("<HH", command | 0x0100, status) + data
    return COMMAND_HEAD + struct.pack("<H", len(body)) + body + COMMAND_TAIL


def gate_energies(distance_cm: int, energy: int) -> bytes:
    """Energy per 0.75 m gate, peaking at the target's gate."""
    peak = min(GATES - 1, distance_cm // 75)
    return bytes(max(0, energy - 25 * abs(gate - peak)) for gate in range(GATES))


class SimulatedLD2410:
    """UART-like radar driven by ``target_at(now_ms)`` and a millisecond clock."""

    def __init__(
        self,
        target_at: Callable[[int], RadarTarget],
        ticks_ms: Callable[[], int],
        noise_every_ms: int = 0,
        seed: int = 7,
        answer_commands: bool = True,
    ) -> None:
        self._target_at = target_at
        self._ticks_ms = ticks_ms
        self._rx = bytearray()
        self._next_report = ticks_ms()
        self._noise_every_ms = noise_every_ms
        self._next_noise = self._next_report + noise_every_ms
        self._random = random.Random(seed)
        self.answer_commands = answer_commands
        self.config_mode = False
        self.engineering = False
        self.max_gate = 8
        self.no_one_s = 5
        self.thresholds: tuple[int, int] | None = None
        self.commands: list[int] = []
        self.frames_sent = 0
        self.on_frame: Callable[[int, RadarTarget], None] | None = None

    # UART interface -------------------------------------------------------------------

    def any(self) -> int:
        self._produce()
        return len(self._rx)

    def readinto(self, buf: bytearray | memoryview) -> int:
        self._produce()
        count = min(len(buf), len(self._rx))
        buf[:count] = self._rx[:count]
        del self._rx[:count]
        return count

    def write(self, data: bytes) -> int:
        frame = bytes(data)
        if frame[:4] == COMMAND_HEAD and frame[-4:] == COMMAND_TAIL:
            (length,) = struct.unpack_from("<H", frame, 4)
            (command,) = struct.unpack_from("<H", frame, 6)
            self._execute(command, frame[8 : 6 + length])
        return len(frame)

    # behaviour ------------------------------------------------------------------------

    def inject(self, data: bytes) -> None:
        """Put raw bytes on the wire (garbage, partial frames) before the next report."""
        self._rx += data

    def _produce(self) -> None:
        now = self._ticks_ms()
        while now - self._next_report >= 0:
            if not self.config_mode:
                self._emit(self._next_report)
            self._next_report += REPORT_PERIOD_MS
        if self._noise_every_ms and now - self._next_noise >= 0:
            self._next_noise = now + self._noise_every_ms
            size = self._random.randint(1, 12)
            self._rx += bytes(self._random.randint(0, 255) for _ in range(size))

    def _emit(self, at_ms: int) -> None:
        target = self._target_at(at_ms)
        if self.engineering:
            frame = engineering_report_frame(
                target,
                gate_energies(target.moving_cm, target.moving_energy),
                gate_energies(target.still_cm, target.still_energy),
            )
        else:
            frame = basic_report_frame(target)
        self._rx += frame
        self.frames_sent += 1
        if self.on_frame is not None:
            # The scheduled time: when a real radar would have finished sending this frame,
            # whether or not the firmware has polled the UART yet.
            self.on_frame(at_ms, target)

    def _execute(self, command: int, value: bytes) -> None:
        self.commands.append(command)
        if not self.answer_commands:
            return
        status = 0
        data = b""
        if command == 0x00FF:
            self.config_mode = True
            data = struct.pack("<HH", 1, 64)
        elif not self.config_mode:
            status = 1
        elif command == 0x00FE:
            self.config_mode = False
        elif command == 0x0060:
            words = dict(struct.unpack_from("<HI", value, k) for k in range(0, len(value), 6))
            self.max_gate = words.get(0, self.max_gate)
            self.no_one_s = words.get(2, self.no_one_s)
        elif command == 0x0064:
            words = dict(struct.unpack_from("<HI", value, k) for k in range(0, len(value), 6))
            self.thresholds = (words[1], words[2])
        elif command == 0x0062:
            self.engineering = True
        elif command == 0x0063:
            self.engineering = False
        else:
            status = 1
        self._rx += ack_frame(command, status, data)
