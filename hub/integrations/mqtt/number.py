"""MQTT number: a value within [min, max] in steps, set by command."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hub.core.errors import ServiceValidationError
from hub.core.events import Context
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import NumberConfig


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class MqttNumber(MqttEntity):
    domain = "number"
    services = frozenset({"set_value"})
    config: NumberConfig
    _value: float | None = None

    def process_state(self, value: str) -> bool:
        if value == self.config.payload_reset:
            self._value = None
            return True
        try:
            number = float(value)
        except ValueError:
            self.log_once("payload", "ignoring non-numeric state %r", value[:64])
            return False
        if not math.isfinite(number):
            return False
        self._value = number
        return True

    def state_value(self) -> str | None:
        return None if self._value is None else format_number(self._value)

    def static_attributes(self) -> dict[str, Any]:
        attrs = super().static_attributes()
        attrs.update(
            min=self.config.min, max=self.config.max, step=self.config.step, mode=self.config.mode
        )
        if self.config.unit_of_measurement:
            attrs["unit_of_measurement"] = self.config.unit_of_measurement
        return attrs

    async def async_handle_service(
        self, service: str, data: Mapping[str, Any], context: Context
    ) -> None:
        try:
            value = float(data["value"])
        except (KeyError, TypeError, ValueError) as err:
            raise ServiceValidationError("set_value needs a numeric value") from err
        if not (self.config.min <= value <= self.config.max) or not math.isfinite(value):
            raise ServiceValidationError(
                f"{format_number(value)} is outside {format_number(self.config.min)}"
                f"–{format_number(self.config.max)}"
            )
        await self.async_publish(self.config.command_topic, format_number(value))
        if self.optimistic:
            self._value = value
            self.async_write_state(context)
