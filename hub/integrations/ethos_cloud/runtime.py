"""What a loaded store link offers the rest of the hub (web UI included), and the one way
to reach it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from hub.core.config_entries import ConfigEntry
from hub.integrations.ethos_cloud.const import DOMAIN

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_cloud.adoption import AdoptionManager
    from hub.integrations.ethos_cloud.broker_clients import DeviceBrokerClients
    from hub.integrations.ethos_cloud.sync import OwnedDevicesSync


@dataclass
class CloudRuntime:
    """Owned-devices sync, adoption, device broker clients, and the hub's registered client
    for sign-in."""

    sync: OwnedDevicesSync
    adoption: AdoptionManager
    broker_clients: DeviceBrokerClients
    client_id: str
    client_secret: str | None  # None when it could not be decrypted (link again)
    redirect_uri: str


CloudConfigEntry = ConfigEntry[CloudRuntime]


def cloud_runtime(hub: Hub) -> CloudRuntime | None:
    """The loaded link's runtime; None while the hub is not linked (or the link unloaded)."""
    entry: CloudConfigEntry | None = hub.config_entries.loaded_entry(DOMAIN)
    return None if entry is None else entry.runtime_data
