"""BTHome binary sensors: occupancy (the Ethos presence detector), motion, door, window..."""

from __future__ import annotations

from hub.const import STATE_OFF, STATE_ON
from hub.integrations.bthome.entity import BTHomeEntity


class BTHomeBinarySensor(BTHomeEntity):
    domain = "binary_sensor"

    def state_value(self) -> str | None:
        return STATE_ON if self.measurement.value else STATE_OFF
