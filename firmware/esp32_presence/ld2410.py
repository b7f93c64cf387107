"""HLK-LD2410 24 GHz radar: report-frame parser and command frames with ACK check.

Pure logic. The parser takes bytes from anywhere; the driver talks to any object with
``write(buf)``, ``any()`` and ``readinto(buf)`` (``machine.UART`` on the ESP32, the simulated
radar on a PC). Nothing here imports hardware modules, so it runs on CPython and MicroPython.

Frames (little-endian):
  report  F4 F3 F2 F1 | len u16 | type | AA | data | 55 | 00 | F8 F7 F6 F5
  command FD FC FB FA | len u16 | command u16 | value | 04 03 02 01
The report has no checksum, so a frame is accepted only if its length, type, markers and
tail all agree; otherwise one byte is dropped and the search starts again, which never
skips a valid frame hidden inside a corrupt one.
"""

import struct

import clock

REPORT_HEAD = b"\xf4\xf3\xf2\xf1"
REPORT_TAIL = b"\xf8\xf7\xf6\xf5"
COMMAND_HEAD = b"\xfd\xfc\xfb\xfa"
COMMAND_TAIL = b"\x04\x03\x02\x01"

TYPE_ENGINEERING = 0x01
TYPE_BASIC = 0x02
BASIC_LENGTH = 0x0D
# The longest payload either frame kind can have; a larger length field is corruption.
MAX_PAYLOAD = 64
MAX_FRAME = 4 + 2 + MAX_PAYLOAD + 4
BUFFER_SIZE = 2 * MAX_FRAME

MAX_GATE_INDEX = 8

TARGET_NONE = 0
TARGET_MOVING = 1
TARGET_STILL = 2
TARGET_BOTH = 3
TARGET_NAMES = ("none", "moving", "still", "both")

CMD_ENABLE_CONFIG = 0x00FF
CMD_END_CONFIG = 0x00FE
CMD_MAX_GATES = 0x0060
CMD_READ_PARAMETERS = 0x0061
CMD_ENGINEERING_ON = 0x0062
CMD_ENGINEERING_OFF = 0x0063
CMD_GATE_SENSITIVITY = 0x0064
ACK_FLAG = 0x0100
ALL_GATES = 0xFFFF


class LD2410Error(Exception):
    """The radar refused a command or did not answer."""


class RadarReport:
    """One decoded report frame. Distances in cm, energies 0-100.

    The parser fills one instance in place for every frame (no allocation per frame on
    the device); a consumer that keeps a report beyond its callback takes ``copy()``.
    """

    def __init__(
        self,
        engineering: bool = False,
        target_state: int = TARGET_NONE,
        moving_distance_cm: int = 0,
        moving_energy: int = 0,
        still_distance_cm: int = 0,
        still_energy: int = 0,
        detection_distance_cm: int = 0,
        moving_gate_energies: bytes | None = None,
        still_gate_energies: bytes | None = None,
        light: int | None = None,
        out_pin: int | None = None,
    ) -> None:
        self.engineering = engineering
        self.target_state = target_state
        self.moving_distance_cm = moving_distance_cm
        self.moving_energy = moving_energy
        self.still_distance_cm = still_distance_cm
        self.still_energy = still_energy
        self.detection_distance_cm = detection_distance_cm
        self.moving_gate_energies = moving_gate_energies
        self.still_gate_energies = still_gate_energies
        self.light = light
        self.out_pin = out_pin

    def copy(self) -> "RadarReport":
        return RadarReport(
            self.engineering,
            self.target_state,
            self.moving_distance_cm,
            self.moving_energy,
            self.still_distance_cm,
            self.still_energy,
            self.detection_distance_cm,
            self.moving_gate_energies,
            self.still_gate_energies,
            self.light,
            self.out_pin,
        )

    @property
    def target_name(self) -> str:
        return TARGET_NAMES[self.target_state] if self.target_state < 4 else "unknown"

    def as_dict(self) -> dict:
        return {
            "engineering": self.engineering,
            "target_state": self.target_state,
            "moving_distance_cm": self.moving_distance_cm,
            "moving_energy": self.moving_energy,
            "still_distance_cm": self.still_distance_cm,
            "still_energy": self.still_energy,
            "detection_distance_cm": self.detection_distance_cm,
            "moving_gate_energies": self.moving_gate_energies,
            "still_gate_energies": self.still_gate_energies,
            "light": self.light,
            "out_pin": self.out_pin,
        }


class CommandAck:
    """An ACK frame: the command it answers, its status (0 ok) and any return data."""

    def __init__(self, command: int, status: int, data: bytes) -> None:
        self.command = command
        self.status = status
        self.data = data


def decode_report_payload(
    buf: bytearray, at: int, size: int, report: RadarReport | None = None
) -> RadarReport | None:
    """Decode the ``size`` bytes at ``buf[at]`` (between length and tail) as a report.

    Fills ``report`` (or a new one) and returns it, or returns None if the bytes are not a
    report. Reads in place, so no slice of the buffer is made.
    """
    end = at + size
    if size < BASIC_LENGTH or buf[at + 1] != 0xAA or buf[end - 2] != 0x55 or buf[end - 1] != 0:
        return None
    kind = buf[at]
    state, moving_cm, moving_energy, still_cm, still_energy, detection_cm = struct.unpack_from(
        "<BHBHBH", buf, at + 2
    )
    if state > TARGET_BOTH or moving_energy > 100 or still_energy > 100:
        return None
    moving_gates = still_gates = light = out_pin = None
    if kind == TYPE_BASIC:
        if size != BASIC_LENGTH:
            return None
    elif kind == TYPE_ENGINEERING and size >= BASIC_LENGTH + 4:
        max_moving_gate = buf[at + 11]
        max_still_gate = buf[at + 12]
        if max_moving_gate > MAX_GATE_INDEX or max_still_gate > MAX_GATE_INDEX:
            return None
        moving_start = at + 13
        still_start = moving_start + max_moving_gate + 1
        light_at = still_start + max_still_gate + 1
        # light and OUT pin, then the 55 00 marker.
        if light_at + 2 + 2 != end or buf[light_at + 1] > 1:
            return None
        # Energies are percentages: a larger byte means this is not a report (no checksum
        # exists, so plausibility is the only guard against a corrupt frame swallowing the
        # next one).
        for k in range(moving_start, light_at):
            if buf[k] > 100:
                return None
        moving_gates = bytes(buf[moving_start:still_start])
        still_gates = bytes(buf[still_start:light_at])
        light = buf[light_at]
        out_pin = buf[light_at + 1]
    else:
        return None
    if report is None:
        report = RadarReport()
    report.engineering = kind == TYPE_ENGINEERING
    report.target_state = state
    report.moving_distance_cm = moving_cm
    report.moving_energy = moving_energy
    report.still_distance_cm = still_cm
    report.still_energy = still_energy
    report.detection_distance_cm = detection_cm
    report.moving_gate_energies = moving_gates
    report.still_gate_energies = still_gates
    report.light = light
    report.out_pin = out_pin
    return report


def decode_ack_payload(buf: bytearray, at: int, size: int) -> CommandAck | None:
    """Decode an ACK (command u16, status u16, data) at ``buf[at]``, or None."""
    if size < 4:
        return None
    command, status = struct.unpack_from("<HH", buf, at)
    if not command & ACK_FLAG:
        return None
    return CommandAck(command & ~ACK_FLAG, status, bytes(buf[at + 4 : at + size]))


class FrameParser:
    """Turns a byte stream with garbage into reports and ACKs, in a fixed-size buffer.

    ``feed`` accepts any amount of data and calls ``on_report(report)`` /
    ``on_ack(ack)`` for each valid frame; it never raises on bad input. The report object
    is reused for the next frame (see :class:`RadarReport`). Unparsed bytes
    live in ``_buf[_start:_end]``; consuming only moves ``_start``, and the bytes are
    moved to the front only when the buffer's end is reached.
    """

    def __init__(self, on_report: object = None, on_ack: object = None) -> None:
        self._buf = bytearray(BUFFER_SIZE)
        self._report = RadarReport()
        self._start = 0
        self._end = 0
        self.on_report = on_report
        self.on_ack = on_ack
        self.frames = 0
        self.dropped_bytes = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        total = len(data)
        offset = 0
        while offset < total:
            if self._end == BUFFER_SIZE:
                self._compact()
            chunk = min(BUFFER_SIZE - self._end, total - offset)
            if offset == 0 and chunk == total:
                self._buf[self._end : self._end + chunk] = data
            else:
                self._buf[self._end : self._end + chunk] = data[offset : offset + chunk]
            self._end += chunk
            offset += chunk
            self._scan()

    def _compact(self) -> None:
        pending = self._end - self._start
        if pending:
            self._buf[0:pending] = self._buf[self._start : self._end]
        self._start = 0
        self._end = pending

    def _consume(self, count: int) -> None:
        self._start += count
        if self._start >= self._end:
            self._start = self._end = 0

    def _find_head(self) -> int:
        buf = self._buf
        limit = self._end
        i = self._start
        while i < limit:
            first = buf[i]
            if first == 0xF4 or first == 0xFD:
                head = REPORT_HEAD if first == 0xF4 else COMMAND_HEAD
                matched = 1
                while matched < 4 and i + matched < limit and buf[i + matched] == head[matched]:
                    matched += 1
                # A head cut off at the end of the buffer counts as a candidate.
                if matched == 4 or i + matched == limit:
                    return i
            i += 1
        return limit

    def _head_inside(self, start: int, stop: int) -> bool:
        """Whether a complete frame head starts in ``buf[start:stop]``."""
        buf = self._buf
        last = min(stop, self._end - 3)
        for i in range(start, last):
            first = buf[i]
            if first == 0xF4 or first == 0xFD:
                head = REPORT_HEAD if first == 0xF4 else COMMAND_HEAD
                if buf[i + 1] == head[1] and buf[i + 2] == head[2] and buf[i + 3] == head[3]:
                    return True
        return False

    def _scan(self) -> None:
        buf = self._buf
        while self._end > self._start:
            head = self._find_head()
            if head > self._start:
                self.dropped_bytes += head - self._start
                self._consume(head - self._start)
            at = self._start
            available = self._end - at
            if available < 6:
                return
            length = buf[at + 4] | (buf[at + 5] << 8)
            if length > MAX_PAYLOAD or length < 2:
                self._reject()
                continue
            if available >= 8 and not self._plausible_start(at, length):
                self._reject()
                continue
            frame_size = 10 + length
            if available < frame_size:
                if buf[at] == 0xF4 and self._head_inside(at + 1, at + frame_size):
                    # A report's fields never hold four bytes > 100 in a row, so a head
                    # inside its span means the candidate is a cut-off frame: drop it now
                    # rather than hold the next frame back until the claimed length is in.
                    self._reject()
                    continue
                return
            if not self._accept(at, length, frame_size):
                self._reject()
                continue
            self._consume(frame_size)

    def _plausible_start(self, at: int, length: int) -> bool:
        # Checked before the whole frame is in, so a cut-off frame followed by a valid one
        # is dropped at once instead of holding the valid one back until more data arrives.
        buf = self._buf
        if buf[at] == 0xFD:
            return length >= 4 and buf[at + 7] & 1 == 1
        kind = buf[at + 6]
        if buf[at + 7] != 0xAA:
            return False
        if kind == TYPE_BASIC:
            return length == BASIC_LENGTH
        return kind == TYPE_ENGINEERING and length >= BASIC_LENGTH + 4

    def _reject(self) -> None:
        self.dropped_bytes += 1
        self._consume(1)

    def _accept(self, at: int, length: int, frame_size: int) -> bool:
        buf = self._buf
        is_report = buf[at] == 0xF4
        tail = REPORT_TAIL if is_report else COMMAND_TAIL
        tail_at = at + frame_size - 4
        for k in range(4):
            if buf[tail_at + k] != tail[k]:
                return False
        if is_report:
            report = decode_report_payload(buf, at + 6, length, self._report)
            if report is None:
                return False
            self.frames += 1
            if self.on_report is not None:
                self.on_report(report)
            return True
        ack = decode_ack_payload(buf, at + 6, length)
        if ack is None:
            return False
        self.frames += 1
        if self.on_ack is not None:
            self.on_ack(ack)
        return True


def build_command(command: int, value: bytes = b"") -> bytes:
    """The bytes of one command frame."""
    return COMMAND_HEAD + struct.pack("<HH", 2 + len(value), command) + bytes(value) + COMMAND_TAIL


def _word_values(pairs: tuple) -> bytes:
    out = b""
    for word, value in pairs:
        out += struct.pack("<HI", word, value)
    return out


def max_gates_value(moving_gate: int, still_gate: int, no_one_s: int) -> bytes:
    if not (2 <= moving_gate <= MAX_GATE_INDEX and 2 <= still_gate <= MAX_GATE_INDEX):
        raise ValueError("gates must be 2..8")
    if not 0 <= no_one_s <= 65535:
        raise ValueError("no-one duration must be 0..65535 s")
    return _word_values(((0, moving_gate), (1, still_gate), (2, no_one_s)))


def gate_sensitivity_value(gate: int, moving: int, still: int) -> bytes:
    if gate != ALL_GATES and not 0 <= gate <= MAX_GATE_INDEX:
        raise ValueError("gate must be 0..8 or all")
    if not (0 <= moving <= 100 and 0 <= still <= 100):
        raise ValueError("thresholds must be 0..100")
    return _word_values(((0, gate), (1, moving), (2, still)))


class LD2410:
    """Driver: reads reports from a UART-like object and sends acknowledged commands."""

    def __init__(
        self,
        uart: object,
        on_report: object = None,
        timeout_ms: int = 500,
        sleep: object = clock.sleep_ms,
    ) -> None:
        self._uart = uart
        self._rx = bytearray(64)
        self._ack = None
        self._sleep = sleep
        self.timeout_ms = timeout_ms
        self.parser = FrameParser(on_report, self._store_ack)

    def _store_ack(self, ack: CommandAck) -> None:
        self._ack = ack

    def poll(self) -> int:
        """Read whatever the UART holds and parse it; return the number of bytes read."""
        total = 0
        while self._uart.any():
            count = self._uart.readinto(self._rx)
            if not count:
                break
            total += count
            self.parser.feed(memoryview(self._rx)[:count])
        return total

    def command(self, command: int, value: bytes = b"") -> bytes:
        """Send one command and wait for its ACK; return the ACK's data."""
        self._ack = None
        self._uart.write(build_command(command, value))
        started = clock.ticks_ms()
        while True:
            self.poll()
            ack = self._ack
            if ack is not None and ack.command == command:
                if ack.status != 0:
                    raise LD2410Error("command 0x%04x refused (status %d)" % (command, ack.status))
                return ack.data
            if clock.ticks_diff(clock.ticks_ms(), started) > self.timeout_ms:
                raise LD2410Error(
                    "command 0x%04x: no ACK within %d ms" % (command, self.timeout_ms)
                )
            self._sleep(2)

    def enable_config(self) -> bytes:
        return self.command(CMD_ENABLE_CONFIG, b"\x01\x00")

    def end_config(self) -> bytes:
        return self.command(CMD_END_CONFIG)

    def configure(
        self,
        max_gate: int | None = None,
        no_one_s: int | None = None,
        moving: int | None = None,
        still: int | None = None,
        engineering: bool | None = None,
    ) -> None:
        """Apply settings inside one enable/end-config session (always ended)."""
        self.enable_config()
        try:
            if max_gate is not None:
                duration = 5 if no_one_s is None else no_one_s
                self.command(CMD_MAX_GATES, max_gates_value(max_gate, max_gate, duration))
            if moving is not None and still is not None:
                self.command(CMD_GATE_SENSITIVITY, gate_sensitivity_value(ALL_GATES, moving, still))
            if engineering is not None:
                self.command(CMD_ENGINEERING_ON if engineering else CMD_ENGINEERING_OFF)
        finally:
            self.end_config()
