"""Base of BTHome entities: one measurement of one device, unavailable once stale."""

from __future__ import annotations

from typing import Any

from hub.core.entity import Entity
from hub.core.models import DeviceInfo
from hub.integrations.bluetooth.bthome import BTHomeReading, Measurement
from hub.integrations.bluetooth.const import DOMAIN


def device_info(reading: BTHomeReading) -> DeviceInfo:
    return DeviceInfo(
        identifiers=((DOMAIN, reading.address),),
        connections=((DOMAIN, reading.address),),
        name=reading.name,
        manufacturer=reading.manufacturer,
        model=reading.model,
        sw_version=reading.sw_version,
    )


class BTHomeEntity(Entity):
    """Holds the last value heard; the manager feeds it and marks it stale."""

    def __init__(self, reading: BTHomeReading, measurement: Measurement, now: float) -> None:
        super().__init__(
            platform=DOMAIN,
            unique_id=f"{reading.address}-{measurement.key}",
            name=f"{reading.name} {measurement.name}",
            device_info=device_info(reading),
        )
        self.measurement = measurement
        self.sleepy = reading.sleepy
        self.last_heard = now
        self.stale = False

    @property
    def available(self) -> bool:
        return not self.stale

    def update(self, measurement: Measurement, now: float) -> None:
        self.measurement, self.last_heard, self.stale = measurement, now, False
        self.async_write_state()

    def mark_stale(self) -> None:
        if not self.stale:
            self.stale = True
            self.async_write_state()

    def static_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if self.measurement.device_class:
            attrs["device_class"] = self.measurement.device_class
        return attrs
