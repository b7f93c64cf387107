"""The MQTT integration's settings, read from the hub's environment (``HubConfig.environ``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.integrations.mqtt.const import DEFAULT_PREFIX, ENV_DISCOVERY_PREFIX, ENV_MQTT_URL

if TYPE_CHECKING:
    from hub.core.hub import Hub


@dataclass(frozen=True)
class MqttSettings:
    """``MQTT_URL`` (None: a broker announced by zeroconf is used) and the discovery prefix."""

    url: str | None = None
    discovery_prefix: str = DEFAULT_PREFIX

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MqttSettings:
        return cls(
            url=environ.get(ENV_MQTT_URL) or None,
            discovery_prefix=environ.get(ENV_DISCOVERY_PREFIX) or DEFAULT_PREFIX,
        )


def mqtt_settings(hub: Hub) -> MqttSettings:
    """The settings this hub started with."""
    return MqttSettings.from_env(hub.config.environ)
