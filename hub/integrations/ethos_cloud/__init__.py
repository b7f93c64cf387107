"""Ethos store account: link the hub (device grant + registration), sync owned devices,
adopt the ones that prove their claim secret.

The entry exists once the hub is linked; its runtime data is the ``CloudRuntime``
(owned-devices sync, adoption, the hub's registered client for sign-in): ``cloud_runtime``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import aiohttp

from hub.helpers.secret_box import SecretUnreadable, async_secret_box
from hub.integrations.ethos_cloud.client import EthosCloudClient
from hub.integrations.ethos_cloud.const import (
    CLAIM_TIMEOUT_S,
    DATA_CLAIM_TIMEOUT,
    DATA_CLIENT_ID,
    DATA_CLIENT_SECRET,
    DATA_CLOUD_URL,
    DATA_REDIRECT_URI,
)
from hub.integrations.ethos_cloud.pin import DiscoveryPin
from hub.integrations.ethos_cloud.runtime import CloudConfigEntry, CloudRuntime, cloud_runtime
from hub.integrations.mqtt.const import DATA_DISCOVERY_PIN

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)


__all__ = ["CloudConfigEntry", "CloudRuntime", "async_secret_box", "cloud_runtime"]


async def async_setup(hub: Hub) -> bool:
    """Before any entry starts: the pin that guards verified devices' discovery (the MQTT
    entry installs it before the broker sends the first retained config)."""
    pin = DiscoveryPin(hub)
    pin.async_start()
    hub.data[DATA_DISCOVERY_PIN] = pin
    return True


async def async_setup_entry(hub: Hub, entry: CloudConfigEntry) -> bool:
    # Loaded once the hub is linked: an unlinked hub runs none of it.
    from hub.integrations.ethos_cloud.adoption import AdoptionManager
    from hub.integrations.ethos_cloud.broker_clients import DeviceBrokerClients
    from hub.integrations.ethos_cloud.sync import OwnedDevicesSync

    box = await async_secret_box(hub)
    session = aiohttp.ClientSession()
    entry.async_on_unload(session.close)
    client = EthosCloudClient(session, entry.data.get(DATA_CLOUD_URL) or hub.config.cloud_url)
    sync = OwnedDevicesSync(hub, entry, client, box)
    adoption = AdoptionManager(
        hub, sync, float(entry.data.get(DATA_CLAIM_TIMEOUT, CLAIM_TIMEOUT_S))
    )
    try:
        secret: str | None = box.open(entry.data[DATA_CLIENT_SECRET])
    except (KeyError, SecretUnreadable):
        _LOGGER.warning("The hub's client secret cannot be read; link the hub again")
        secret = None
    broker_clients = DeviceBrokerClients(hub, sync)
    runtime = CloudRuntime(
        sync,
        adoption,
        broker_clients,
        str(entry.data.get(DATA_CLIENT_ID, "")),
        secret,
        str(entry.data.get(DATA_REDIRECT_URI, "")),
    )
    entry.runtime_data = runtime
    sync.async_start()
    entry.async_on_unload(sync.async_stop)
    adoption.async_start()
    entry.async_on_unload(adoption.async_stop)
    broker_clients.async_start()
    entry.async_on_unload(broker_clients.async_stop)
    return True


async def async_unload_entry(hub: Hub, entry: CloudConfigEntry) -> bool:
    return True
