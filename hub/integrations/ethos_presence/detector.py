"""Finds a presence detector's entities on a registry device, by role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.helpers.ethos_serial import serial_of
from hub.integrations.ethos_presence.const import MEASUREMENTS, SETTINGS

if TYPE_CHECKING:
    from hub.core.hub import Hub

_MQTT_PLATFORM = "mqtt"


@dataclass(frozen=True)
class PresenceDetector:
    """Entity ids of one detector: ``roles["occupancy"]``, ``roles["hold_time"]`` ..."""

    device_id: str
    serial: str
    roles: dict[str, str]

    def entity(self, role: str) -> str | None:
        return self.roles.get(role)


def find_detector(hub: Hub, device_id: str) -> PresenceDetector | None:
    """The detector on this device, or None when it is not one (no occupancy entity)."""
    device = hub.devices.get(device_id)
    if device is None:
        return None
    serial = serial_of(device.identifiers)
    if serial is None:
        return None
    suffix_base = "ethos_" + serial.lower().replace("-", "_") + "_"
    roles: dict[str, str] = {}
    for row in hub.entities.entities_for_device(device_id):
        if row.platform != _MQTT_PLATFORM or not row.unique_id.startswith(suffix_base):
            continue
        role = row.unique_id[len(suffix_base) :]
        if role in MEASUREMENTS or role in SETTINGS:
            roles[role] = row.entity_id
    if "occupancy" not in roles:
        return None
    return PresenceDetector(device_id, serial, roles)
