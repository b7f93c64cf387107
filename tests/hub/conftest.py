"""Fixtures shared by all hub tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.hub.mqtt.device import FakeDevice


@pytest.fixture
async def device(mqtt_broker_url: str) -> AsyncIterator[FakeDevice]:
    """A device-side MQTT client on the test broker; clears what it retained afterwards."""
    async with FakeDevice.connect(mqtt_broker_url) as fake:
        yield fake
