"""Which registry devices are presence detectors: only those with a valid Ethos serial,
because the serial goes into the MQTT topics of their settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hub.core.hub import Hub
from hub.core.models import DeviceInfo
from hub.integrations.ethos_presence import find_detector
from tests.hub.common import make_config


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[Hub]:
    hub = Hub(make_config(tmp_path))
    await hub.async_start()
    yield hub
    await hub.async_stop()


async def _detector_device(hub: Hub, serial: str) -> str:
    """A registry device announced as ``ethos:<serial>`` with the firmware's entities."""
    device = await hub.devices.async_get_or_create(
        DeviceInfo(identifiers=(("mqtt", f"ethos:{serial}"),), name="Presence")
    )
    base = "ethos_" + serial.lower().replace("-", "_") + "_"
    for domain, role in (("binary_sensor", "occupancy"), ("number", "hold_time")):
        await hub.entities.async_get_or_create(
            domain, "mqtt", base + role, suggested_object_id=role, device_id=device.id
        )
    return device.id


async def test_a_detector_is_found_by_its_serial_with_its_roles(hub: Hub) -> None:
    device_id = await _detector_device(hub, "EPD-000123")
    detector = find_detector(hub, device_id)
    assert detector is not None
    assert detector.serial == "EPD-000123"
    assert set(detector.roles) == {"occupancy", "hold_time"}


@pytest.mark.parametrize("serial", ["EPD-1/#", "EPD-1/+/x", "-EPD", "E" * 41, ""])
async def test_a_serial_that_is_not_valid_makes_no_detector(hub: Hub, serial: str) -> None:
    device_id = await _detector_device(hub, serial)
    assert find_detector(hub, device_id) is None
