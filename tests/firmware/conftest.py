"""Firmware tests: make the flat MicroPython modules importable before test modules load.

The files in firmware/esp32_presence import each other by bare name, as on the ESP32;
``ensure_firmware_importable`` appends that folder to sys.path (see its docstring).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable

ensure_firmware_importable()


@pytest.fixture
async def cleanup(mqtt_broker_url: str, serial: str) -> AsyncIterator[None]:
    """After the test, what its device (`serial`, the module's own) left retained is cleared
    (on a shared broker: `clear_retained` leaves a test's own amqtt alone)."""
    yield
    # Imported here: mqtt_support imports the firmware's modules by bare name.
    from tests.firmware.mqtt_support import clear_retained

    await clear_retained(mqtt_broker_url, serial)
