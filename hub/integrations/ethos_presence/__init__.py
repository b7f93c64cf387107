"""Ethos presence detector: its page's data (occupancy, distances, energies, history) and
settings changes confirmed by the device's echo (service ``ethos_presence.set_setting``).

The detector's entities come from MQTT discovery (the mqtt integration); this integration
knows which entity plays which role and how a settings change is confirmed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.core.errors import ServiceValidationError
from hub.core.services import ServiceCall
from hub.integrations.ethos_presence.const import DATA_SETTINGS_CHANGER, DOMAIN, SERVICE_SET_SETTING
from hub.integrations.ethos_presence.detector import PresenceDetector, find_detector
from hub.integrations.ethos_presence.settings import SettingResult, SettingsChanger

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

__all__ = ["PresenceDetector", "SettingResult", "find_detector", "settings_changer"]


def settings_changer(hub: Hub) -> SettingsChanger | None:
    return hub.data.get(DATA_SETTINGS_CHANGER)


async def async_setup(hub: Hub) -> bool:
    changer = SettingsChanger(hub)
    hub.data[DATA_SETTINGS_CHANGER] = changer

    async def async_set_setting(call: ServiceCall) -> None:
        device_id = call.data.get("device_id")
        detector = find_detector(hub, device_id) if isinstance(device_id, str) else None
        if detector is None:
            raise ServiceValidationError("device_id must name an Ethos presence detector")
        await changer.async_set(
            detector, str(call.data.get("key", "")), call.data.get("value", ""), call.context
        )

    hub.services.async_register(DOMAIN, SERVICE_SET_SETTING, async_set_setting)
    return True
