"""MQTT button: a press publishes payload_press; the state is the last press time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hub.core.events import Context
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import ButtonConfig


class MqttButton(MqttEntity):
    domain = "button"
    services = frozenset({"press"})
    config: ButtonConfig
    _last_pressed: str | None = None

    def state_value(self) -> str | None:
        return self._last_pressed

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        await self.async_publish(self.config.command_topic, self.config.payload_press)
        self._last_pressed = datetime.now(UTC).isoformat(timespec="seconds")
        self.async_write_state(context)
