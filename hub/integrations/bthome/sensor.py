"""BTHome sensors: temperature, humidity, illuminance, battery, voltage..."""

from __future__ import annotations

from typing import Any

from hub.integrations.bthome.entity import BTHomeEntity


class BTHomeSensor(BTHomeEntity):
    domain = "sensor"

    def state_value(self) -> str | None:
        value = self.measurement.value
        return None if value is None else str(value)

    def static_attributes(self) -> dict[str, Any]:
        attrs = super().static_attributes()
        if self.measurement.unit:
            attrs["unit_of_measurement"] = self.measurement.unit
        if isinstance(self.measurement.value, int | float):
            attrs["state_class"] = "measurement"
        return attrs
