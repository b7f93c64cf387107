"""MQTT select: one option out of a fixed list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.core.errors import ServiceValidationError
from hub.core.events import Context
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import SelectConfig


class MqttSelect(MqttEntity):
    domain = "select"
    services = frozenset({"select_option"})
    config: SelectConfig
    _value: str | None = None

    def process_state(self, value: str) -> bool:
        if value not in self.config.options:
            self.log_once("payload", "ignoring %r: not one of the options", value[:64])
            return False
        self._value = value
        return True

    def state_value(self) -> str | None:
        return self._value

    def static_attributes(self) -> dict[str, Any]:
        return {**super().static_attributes(), "options": list(self.config.options)}

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        option = data.get("option")
        if option not in self.config.options:
            raise ServiceValidationError(f"{option!r} is not one of {self.config.options}")
        await self.async_publish(self.config.command_topic, option)
        if self.optimistic:
            self._value = option
            self.async_write_state(context)
