"""Truncated, malformed, encrypted and flooding advertisements never crash anything."""

from __future__ import annotations

import logging
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.integrations.bthome.entity import BTHomeEntity
from hub.integrations.bthome.parser import BTHomeReader
from hub.integrations.bthome.sensor import BTHomeSensor
from tests.hub.bluetooth.advertisements import (
    DEVICE_INFO_V2_PLAIN,
    SPEC_EXAMPLE,
    bthome,
    ethos_presence,
    to_bleak,
)
from tests.hub.bluetooth.conftest import bthome_devices, feed, manager, scanner
from tests.support.waiting import wait_until

ADDRESS = "A4:C1:38:12:34:56"
BTHOME_UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _read_all(reader: BTHomeReader, raw: bytes, now: float = 0.0) -> None:
    """Everything a reading holds must turn into entity states without raising."""
    reading = reader.read(*to_bleak(raw, ADDRESS), now)
    if reading is None:
        return
    for measurement in reading.measurements:
        entity = BTHomeEntity(reading, measurement, now)
        entity.state_value()
        BTHomeSensor(reading, measurement, now).static_attributes()


@FUZZ
@given(st.binary(max_size=31))
def test_fuzzed_raw_advertisements_are_read_or_ignored(raw: bytes) -> None:
    reader = BTHomeReader()
    _read_all(reader, raw)
    assert reader.counters.parser_errors == 0  # refused by checks, not by a caught crash


@FUZZ
@given(st.binary(max_size=40), st.integers(0, 255))
def test_fuzzed_bthome_payloads_are_read_or_ignored(objects: bytes, device_info: int) -> None:
    reader = BTHomeReader()
    _read_all(reader, bthome(objects, "Fuzz", device_info=device_info))
    counters = reader.counters
    assert counters.parser_errors == 0  # refused by checks, not by a caught crash
    assert counters.accepted + counters.malformed + counters.encrypted <= 1


async def test_every_truncation_of_valid_packets_is_survived(start_hub) -> None:
    hub = await start_hub()
    valid = (SPEC_EXAMPLE, ethos_presence(True, 3), bthome(b"\x05\x40\xe2\x01\x0c\xc4\x0b"))
    for raw in valid:
        for cut in range(len(raw)):
            scanner(hub).feed(raw[:cut], ADDRESS)
    await manager(hub).async_wait_idle()
    assert bthome_devices(hub).reader.counters.parser_errors == 0
    # Still working: a whole packet is read as usual.
    await feed(hub, SPEC_EXAMPLE, ADDRESS)
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "25.0"


async def test_random_junk_through_the_live_hub_changes_nothing_else(start_hub) -> None:
    hub = await start_hub()
    await feed(hub, SPEC_EXAMPLE, ADDRESS)
    rng = random.Random(6)
    for n in range(200):
        objects = rng.randbytes(rng.randrange(0, 25))
        scanner(hub).feed(bthome(objects, device_info=DEVICE_INFO_V2_PLAIN), f"66:00:00:00:{n:04X}")
    await manager(hub).async_wait_idle()
    assert manager(hub).processed == 201
    assert bthome_devices(hub).reader.counters.parser_errors == 0
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "25.0"
    await feed(hub, bthome(b"\x02" + struct.pack("<h", 1999), "DIY-sensor"), ADDRESS)
    assert hub.states.get("sensor.diy_sensor_3456_temperature").state == "19.99"


async def test_encrypted_payloads_without_a_key_are_ignored_and_counted(start_hub) -> None:
    hub = await start_hub()
    encrypted = bthome(bytes(12), "Secret", device_info=0x41)
    await feed(hub, encrypted, ADDRESS)
    await feed(hub, encrypted, ADDRESS)
    assert bthome_devices(hub).reader.counters.encrypted == 2
    assert hub.states.async_all() == []


async def test_a_flood_is_bounded_dropped_and_counted(start_hub) -> None:
    hub = await start_hub()
    # Fill the queue in one go (no await, so the worker cannot drain it meanwhile).
    for n in range(1_500):
        scanner(hub).feed(ethos_presence(bool(n % 2), n), ADDRESS)
    bt = manager(hub)
    assert bt.received == 1_500
    assert bt.dropped == 500
    await bt.async_wait_idle()
    assert bt.processed == 1_000
    await wait_until(lambda: hub.states.get("binary_sensor.ethos_epd_000123_3456_occupancy"))


def test_the_device_table_is_bounded() -> None:
    reader = BTHomeReader(max_devices=8)
    for n in range(50):
        raw = ethos_presence(True, 1)
        reading = reader.read(*to_bleak(raw, f"66:00:00:00:00:{n:02X}"), 0.0)
        assert reading is not None
    assert reader.counters.evicted == 42
    assert reader.counters.accepted == 50


async def test_the_library_logs_a_repeated_complaint_once(
    start_hub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await start_hub()
    out_of_order = bthome(b"\x03\xbf\x13\x02\xc4\x09", "Backwards")  # humidity before temperature
    with caplog.at_level(logging.WARNING, logger="bthome_ble"):
        for n in range(50):
            scanner(hub).feed(out_of_order, f"66:00:00:00:00:{n:02X}")
        await manager(hub).async_wait_idle()
    complaints = [r for r in caplog.records if "numerical order" in r.getMessage()]
    assert len(complaints) == 1


async def test_new_addresses_beyond_the_device_limit_are_refused(start_hub) -> None:
    hub = await start_hub(entry_data={"max_devices": 3})
    for n in range(10):
        scanner(hub).feed(
            ethos_presence(True, 1, serial=f"EPD-1{n:05d}"), f"66:00:00:00:00:{n:02X}"
        )
    await manager(hub).async_wait_idle()
    assert len(hub.states.async_all()) == 3
    assert bthome_devices(hub).refused_devices == 7
    # Known devices keep working.
    await feed(hub, ethos_presence(False, 2, serial="EPD-100000"), "66:00:00:00:00:00")
    assert hub.states.get("binary_sensor.ethos_epd_100000_0000_occupancy").state == "off"
