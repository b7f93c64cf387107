"""MQTT switch: on/off commands, state from the device or assumed (optimistic)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.const import STATE_OFF, STATE_ON
from hub.core.events import Context
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import SwitchConfig


class MqttSwitch(MqttEntity):
    domain = "switch"
    services = frozenset({"turn_on", "turn_off", "toggle"})
    config: SwitchConfig
    _value: str | None = None

    def process_state(self, value: str) -> bool:
        on = self.config.state_on or self.config.payload_on
        off = self.config.state_off or self.config.payload_off
        if value == on:
            self._value = STATE_ON
        elif value == off:
            self._value = STATE_OFF
        else:
            self.log_once("payload", "ignoring state %r", value[:64])
            return False
        return True

    def state_value(self) -> str | None:
        return self._value

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        turn_on = service == "turn_on" or (service == "toggle" and self._value != STATE_ON)
        payload = self.config.payload_on if turn_on else self.config.payload_off
        await self.async_publish(self.config.command_topic, payload)
        if self.optimistic:
            self._value = STATE_ON if turn_on else STATE_OFF
            self.async_write_state(context)
