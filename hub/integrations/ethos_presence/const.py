"""Roles of the presence detector's entities and the settings it accepts (see the firmware's
presence_const.py: the device echoes each applied setting on ``ethos/<serial>/<key>``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from hub.integrations.ethos_presence.settings import SettingsChanger

DOMAIN: Final = "ethos_presence"
SERVICE_SET_SETTING: Final = "set_setting"

# Discovery object ids of the firmware, as the unique id ends: ethos_<serial>_<object id>.
MEASUREMENTS: Final = (
    "occupancy",
    "moving_distance",
    "moving_energy",
    "still_distance",
    "still_energy",
    "target",
    "pir",
)
SETTINGS: Final = ("hold_time", "on_latency", "max_distance", "sensitivity")
SETTING_LABELS: Final = {
    "hold_time": "Hold time",
    "on_latency": "On-latency",
    "max_distance": "Maximum distance",
    "sensitivity": "Sensitivity",
}
# How long a settings change waits for the device's echo before saying it was not confirmed.
CONFIRM_TIMEOUT_S: Final = 5.0
ECHO_MAX_BYTES: Final = 64  # an echo is one value; more is cut off
HISTORY_HOURS: Final = 6
HISTORY_CHOICES: Final = (1, 6, 24)

# Where the integration keeps its settings changer (``settings_changer(hub)`` reads it).
DATA_SETTINGS_CHANGER: Final[HubKey[SettingsChanger]] = HubKey(DOMAIN)
