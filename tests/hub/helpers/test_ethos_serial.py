"""The one Ethos serial parser: valid serials only, taken from a device's identifiers."""

from __future__ import annotations

import pytest

from hub.helpers.ethos_serial import serial_from_identifier, serial_of, valid_serial


@pytest.mark.parametrize("serial", ["EPD-000123", "a", "A_b-9", "E" * 40])
def test_valid_serials(serial: str) -> None:
    assert valid_serial(serial)
    assert serial_from_identifier(f"ethos:{serial}") == serial


@pytest.mark.parametrize(
    "serial", ["", "-EPD", "_x", "EPD/1", "EPD-1/#", "EPD+", "EPD 1", "E" * 41, "EPÉ", None, 7]
)
def test_serials_that_could_break_a_topic_or_are_not_text_are_refused(serial: object) -> None:
    assert not valid_serial(serial)
    if isinstance(serial, str):
        assert serial_from_identifier(f"ethos:{serial}") is None


def test_the_first_valid_ethos_identifier_names_the_device() -> None:
    identifiers = [["mqtt", "tasmota_1"], ["mqtt", "ethos:EPD/#"], [], ["mqtt", "ethos:EPD-7"]]
    assert serial_of(identifiers) == "EPD-7"
    assert serial_of([["mqtt", "EPD-7"]]) is None
