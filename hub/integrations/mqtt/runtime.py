"""What a loaded MQTT entry offers the rest of the hub, and the one way to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.core.config_entries import ConfigEntry
from hub.integrations.mqtt.const import DOMAIN

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.mqtt.broker_identity import BrokerIdentity
    from hub.integrations.mqtt.client import MqttClient
    from hub.integrations.mqtt.discovery import MqttDiscovery


@dataclass
class MqttRuntime:
    """The broker connection, discovery and broker identity of the loaded entry."""

    client: MqttClient
    discovery: MqttDiscovery
    identity: BrokerIdentity


MqttConfigEntry = ConfigEntry[MqttRuntime]


def mqtt_runtime(hub: Hub) -> MqttRuntime | None:
    """The loaded broker entry's runtime; None while no broker entry is loaded."""
    entry: MqttConfigEntry | None = hub.config_entries.loaded_entry(DOMAIN)
    return None if entry is None else entry.runtime_data
