"""BTHome: sensors and binary sensors from BTHome v2 advertisements (unencrypted), heard
through the bluetooth integration, which hands over the advertisements this integration's
manifest matches (service data UUID 0xFCD2). The parser is ``bthome-ble``, imported only
once an adapter is there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.integrations.bluetooth.handlers import register_handler
from hub.integrations.bthome.const import DOMAIN

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub
    from hub.integrations.bluetooth.handlers import AdvertisementHandler


def _make_devices(hub: Hub, entry: ConfigEntry[Any], max_devices: int) -> AdvertisementHandler:
    from hub.integrations.bthome.devices import BTHomeDevices

    return BTHomeDevices(hub, entry, max_devices)


async def async_setup(hub: Hub) -> bool:
    """Ask the bluetooth integration for the advertisements the manifest matches."""
    register_handler(hub, DOMAIN, _make_devices)
    return True
