"""Fixtures for the MQTT integration: a hub connected to the test broker, a device client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from hub.core.hub import Hub
from hub.integrations.mqtt import MqttRuntime
from hub.integrations.mqtt.runtime import mqtt_runtime
from tests.hub.common import StartedHubs, make_config


@pytest.fixture
def prefix(unique_id: str) -> str:
    """A discovery prefix of this test's own, so runs against shared Mosquitto stay apart."""
    return f"ha_test_{unique_id}"


StartHub = Callable[..., Awaitable[Hub]]


@pytest.fixture
async def start_hub(
    tmp_path: Path, mqtt_broker_url: str, prefix: str
) -> AsyncIterator[Callable[..., asyncio.Future]]:
    started = StartedHubs()

    async def start(**overrides: object) -> Hub:
        config = make_config(
            tmp_path,
            integrations=("mqtt",),
            mqtt_url=overrides.pop("mqtt_url", mqtt_broker_url),
            discovery_prefix=prefix,
            **overrides,
        )
        return await started.async_start(Hub(config))

    yield start  # type: ignore[misc]
    await started.async_stop_all()


@pytest.fixture
async def hub(start_hub: StartHub) -> Hub:
    return await start_hub()


def runtime(hub: Hub) -> MqttRuntime:
    return mqtt_runtime(hub)
