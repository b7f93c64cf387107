"""LD2410 parser, command frames and driver, against hand-checked bytes and the simulated radar."""

from __future__ import annotations

import time

import ld2410
import pytest

from firmware.simulator.radar import (
    NO_TARGET,
    RadarTarget,
    SimulatedLD2410,
    ack_frame,
    basic_report_frame,
    engineering_report_frame,
)

# The example frame from PROTOCOLS.md: both targets, moving 79 cm/100, still 76 cm/100, 50 cm.
SPEC_BASIC = bytes.fromhex("f4f3f2f10d0002aa034f00644c0064320055 00f8f7f6f5".replace(" ", ""))


def parse(data: bytes, chunk: int | None = None) -> tuple[list[ld2410.RadarReport], list]:
    reports: list[ld2410.RadarReport] = []
    acks: list[ld2410.CommandAck] = []
    parser = ld2410.FrameParser(lambda report: reports.append(report.copy()), acks.append)
    step = chunk or max(1, len(data))
    for start in range(0, len(data), step):
        parser.feed(data[start : start + step])
    return reports, acks


def test_spec_example_frame_decodes() -> None:
    (report,), _ = parse(SPEC_BASIC)
    assert report.target_name == "both"
    assert (report.moving_distance_cm, report.moving_energy) == (79, 100)
    assert (report.still_distance_cm, report.still_energy) == (76, 100)
    assert report.detection_distance_cm == 50
    assert not report.engineering


def test_engineering_frame_carries_gate_energies_light_and_out_pin() -> None:
    moving = bytes([5, 10, 60, 20, 0, 0, 0, 0, 0])
    still = bytes([0, 0, 40, 70, 10, 0, 0, 0, 0])
    frame = engineering_report_frame(RadarTarget(3, 150, 60, 225, 70), moving, still, 91, 1)
    assert frame[4:6] == b"\x23\x00"  # the length PROTOCOLS.md gives for 8 gates
    (report,), _ = parse(frame)
    assert report.engineering
    assert report.moving_gate_energies == moving
    assert report.still_gate_energies == still
    assert (report.light, report.out_pin) == (91, 1)
    assert report.detection_distance_cm == 150


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 22, 64])
def test_frames_split_anywhere_are_reassembled(chunk: int) -> None:
    frames = [basic_report_frame(RadarTarget(1, 100 + k, 50, 0, 0)) for k in range(5)]
    reports, _ = parse(b"".join(frames), chunk)
    assert [r.moving_distance_cm for r in reports] == [100, 101, 102, 103, 104]


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    good = basic_report_frame(RadarTarget(2, 0, 0, 300, 45))
    stream = b"\x00\xff\xf4\xf3" + good + b"noise\xf8\xf7" + good
    reports, _ = parse(stream, 5)
    assert [r.still_distance_cm for r in reports] == [300, 300]


@pytest.mark.parametrize(
    "corrupt",
    [
        # wrong length field (too long for any report)
        bytes.fromhex("f4f3f2f1ff0002aa034f00644c00643200550 0f8f7f6f5".replace(" ", "")),
        # right length, wrong tail
        SPEC_BASIC[:-1] + b"\x00",
        # cut-off frame: head, length and half the data
        SPEC_BASIC[:12],
        # wrong marker bytes (55 00 -> 55 01)
        SPEC_BASIC[:17] + b"\x01" + SPEC_BASIC[18:],
        # target state out of range
        SPEC_BASIC[:8] + b"\x07" + SPEC_BASIC[9:],
    ],
)
def test_corrupt_frame_is_rejected_without_losing_the_next(corrupt: bytes) -> None:
    following = basic_report_frame(RadarTarget(1, 222, 33, 0, 0))
    reports, _ = parse(corrupt + following)
    assert [r.moving_distance_cm for r in reports] == [222]


def test_truncated_engineering_frame_cannot_swallow_the_next_report() -> None:
    full = engineering_report_frame(RadarTarget(1, 80, 50, 0, 0), bytes(9), bytes(9))
    # 22 bytes + a 23-byte basic frame would fill the 45-byte engineering frame exactly.
    following = basic_report_frame(RadarTarget(2, 0, 0, 420, 61))
    reports, _ = parse(full[:22] + following)
    assert [(r.engineering, r.still_distance_cm) for r in reports] == [(False, 420)]


def test_a_kept_copy_survives_the_next_frame() -> None:
    seen: list[tuple[ld2410.RadarReport, ld2410.RadarReport]] = []
    parser = ld2410.FrameParser(lambda report: seen.append((report, report.copy())))
    parser.feed(basic_report_frame(RadarTarget(1, 111, 50, 0, 0)))
    parser.feed(basic_report_frame(RadarTarget(2, 0, 0, 222, 60)))
    (_, first_copy), (second_live, _) = seen
    assert first_copy.moving_distance_cm == 111 and first_copy.target_name == "moving"
    assert second_live.still_distance_cm == 222


def test_command_frames_match_the_protocol() -> None:
    assert ld2410.build_command(ld2410.CMD_ENABLE_CONFIG, b"\x01\x00") == bytes.fromhex(
        "fdfcfbfa0400ff00010004030201"
    )
    assert ld2410.build_command(ld2410.CMD_END_CONFIG) == bytes.fromhex("fdfcfbfa0200fe0004030201")
    value = ld2410.max_gates_value(8, 8, 5)
    assert ld2410.build_command(ld2410.CMD_MAX_GATES, value) == bytes.fromhex(
        "fdfcfbfa140060000000080000000100080000000200050000000 4030201".replace(" ", "")
    )
    assert ld2410.gate_sensitivity_value(ld2410.ALL_GATES, 40, 30) == bytes.fromhex(
        "0000ffff000001002800000002001e000000"
    )


@pytest.mark.parametrize(
    ("builder", "args"),
    [
        (ld2410.max_gates_value, (1, 8, 5)),
        (ld2410.max_gates_value, (8, 9, 5)),
        (ld2410.max_gates_value, (8, 8, 70000)),
        (ld2410.gate_sensitivity_value, (9, 10, 10)),
        (ld2410.gate_sensitivity_value, (0, 101, 10)),
    ],
)
def test_out_of_range_command_values_are_refused(builder, args) -> None:
    with pytest.raises(ValueError):
        builder(*args)


def test_ack_frames_are_decoded_alongside_reports() -> None:
    stream = ack_frame(0x00FF, 0, b"\x01\x00\x40\x00") + SPEC_BASIC + ack_frame(0x0064, 1)
    reports, acks = parse(stream, 4)
    assert len(reports) == 1
    assert [(a.command, a.status, a.data) for a in acks] == [
        (0x00FF, 0, b"\x01\x00\x40\x00"),
        (0x0064, 1, b""),
    ]


def _radar(target: RadarTarget = NO_TARGET, **kwargs) -> SimulatedLD2410:
    return SimulatedLD2410(lambda _now: target, lambda: int(time.monotonic() * 1000), **kwargs)


def test_driver_configures_the_radar_inside_one_config_session() -> None:
    radar = _radar()
    driver = ld2410.LD2410(radar)
    driver.configure(max_gate=5, no_one_s=7, moving=30, still=20, engineering=True)
    assert radar.commands == [0x00FF, 0x0060, 0x0064, 0x0062, 0x00FE]
    assert (radar.max_gate, radar.no_one_s, radar.thresholds) == (5, 7, (30, 20))
    assert radar.engineering and not radar.config_mode


def test_driver_reads_reports_from_the_uart() -> None:
    reports: list[ld2410.RadarReport] = []
    radar = _radar(RadarTarget(1, 180, 77, 0, 0))
    driver = ld2410.LD2410(radar, on_report=lambda report: reports.append(report.copy()))
    deadline = time.monotonic() + 2
    while len(reports) < 2 and time.monotonic() < deadline:
        driver.poll()
        time.sleep(0.02)
    assert [(r.moving_distance_cm, r.moving_energy) for r in reports[:2]] == [(180, 77)] * 2


def test_driver_times_out_when_the_radar_does_not_answer() -> None:
    radar = _radar(answer_commands=False)
    driver = ld2410.LD2410(radar, timeout_ms=50)
    with pytest.raises(ld2410.LD2410Error, match="no ACK"):
        driver.enable_config()


def test_driver_reports_a_refused_command_and_still_ends_config() -> None:
    radar = _radar()
    driver = ld2410.LD2410(radar)
    radar.config_mode = False
    with pytest.raises(ld2410.LD2410Error, match="refused"):
        driver.command(ld2410.CMD_MAX_GATES, ld2410.max_gates_value(8, 8, 5))
    driver.configure(max_gate=4)
    assert radar.commands[-1] == ld2410.CMD_END_CONFIG and not radar.config_mode
