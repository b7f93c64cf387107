"""Hypothesis fuzzing of the LD2410 parser: it never raises and keeps every valid frame."""

from __future__ import annotations

import ld2410
from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.simulator.radar import RadarTarget, basic_report_frame, engineering_report_frame

HEADS = (ld2410.REPORT_HEAD, ld2410.COMMAND_HEAD)

targets = st.builds(
    RadarTarget,
    state=st.integers(0, 3),
    moving_cm=st.integers(0, 65535),
    moving_energy=st.integers(0, 100),
    still_cm=st.integers(0, 65535),
    still_energy=st.integers(0, 100),
)
gates = st.binary(min_size=9, max_size=9).map(lambda b: bytes(x % 101 for x in b))


@st.composite
def valid_frames(draw) -> tuple[bytes, RadarTarget]:
    target = draw(targets)
    if draw(st.booleans()):
        return basic_report_frame(target), target
    frame = engineering_report_frame(
        target, draw(gates), draw(gates), draw(st.integers(0, 255)), draw(st.integers(0, 1))
    )
    return frame, target


@st.composite
def garbage(draw) -> bytes:
    """Noise without a frame head, or a real frame cut short (which does have one)."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=40).filter(lambda b: not any(h in b for h in HEADS)))
    frame, _ = draw(valid_frames())
    return frame[: draw(st.integers(1, len(frame) - 1))]


def _feed(stream: bytes, chunks: list[int]) -> list[ld2410.RadarReport]:
    reports: list[ld2410.RadarReport] = []
    parser = ld2410.FrameParser(lambda report: reports.append(report.copy()), lambda _ack: None)
    position = 0
    for size in chunks:
        parser.feed(stream[position : position + size])
        position += size
    parser.feed(stream[position:])
    return reports


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(garbage(), valid_frames()), min_size=1, max_size=6),
    st.lists(st.integers(1, 50), max_size=40),
)
def test_valid_frames_after_garbage_are_all_recovered(segments, chunks) -> None:
    stream = b"".join(noise + frame for noise, (frame, _) in segments)
    reports = _feed(stream, chunks)
    expected = [
        (t.state, t.moving_cm, t.moving_energy, t.still_cm, t.still_energy)
        for _, (_, t) in segments
    ]
    got = [
        (r.target_state, r.moving_distance_cm, r.moving_energy, r.still_distance_cm, r.still_energy)
        for r in reports
    ]
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(1, 64), max_size=20))
def test_arbitrary_bytes_never_raise(data: bytes, chunks: list[int]) -> None:
    reports = _feed(data, chunks)
    for report in reports:
        assert 0 <= report.target_state <= 3
        assert report.moving_energy <= 100 and report.still_energy <= 100
