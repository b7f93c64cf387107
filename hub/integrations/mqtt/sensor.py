"""MQTT sensor: the state is the (templated) payload."""

from __future__ import annotations

from typing import Any

from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.schema import SensorConfig


class MqttSensor(MqttEntity):
    domain = "sensor"
    config: SensorConfig
    _value: str | None = None

    def process_state(self, value: str) -> bool:
        self._value = value if value not in ("", "None") else None
        return True

    def state_value(self) -> str | None:
        return self._value

    def static_attributes(self) -> dict[str, Any]:
        attrs = super().static_attributes()
        for key in ("unit_of_measurement", "state_class", "suggested_display_precision"):
            value = getattr(self.config, key)
            if value is not None:
                attrs[key] = value
        return attrs
