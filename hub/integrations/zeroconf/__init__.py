"""Zeroconf integration: advertises the hub as ``_ethos-hub._tcp`` and browses for services.

One entry, created at start. mDNS runs on the interfaces the web UI listens on (127.0.0.1
when the hub listens on loopback only, so a default install says nothing to the LAN).
Other integrations receive services through ``discovery.py``'s hook, e.g. MQTT finds a
broker announced as ``_mqtt._tcp`` when MQTT_URL is not set.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub.core.errors import ConfigEntryNotReady
from hub.integrations.zeroconf.advertiser import (
    advertised_addresses,
    hub_service_info,
    mdns_interfaces,
)
from hub.integrations.zeroconf.const import DOMAIN, TITLE
from hub.integrations.zeroconf.discovery import ServiceDiscovery, wanted_types
from hub.integrations.zeroconf.models import ZeroconfService

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

__all__ = ["ZeroconfRuntime", "ZeroconfService"]

_LOGGER = logging.getLogger(__name__)


@dataclass
class ZeroconfRuntime:
    """What the entry holds while loaded."""

    aiozc: AsyncZeroconf
    discovery: ServiceDiscovery
    service: AsyncServiceInfo
    registered: asyncio.Event = field(default_factory=asyncio.Event)


async def async_setup(hub: Hub) -> bool:
    if not hub.config_entries.async_entries(DOMAIN):
        await hub.config_entries.async_add(DOMAIN, TITLE, {}, setup=False)
    return True


async def async_setup_entry(hub: Hub, entry: ConfigEntry) -> bool:
    interfaces = mdns_interfaces(hub.config)
    try:
        aiozc = AsyncZeroconf(interfaces=interfaces, ip_version=IPVersion.V4Only)
    except ValueError as err:  # a typo in the setting: retrying would not help
        raise ValueError(f"bad mDNS interface in {interfaces}: {err}") from err
    except OSError as err:  # e.g. the interface is not up yet at boot
        raise ConfigEntryNotReady(f"mDNS unavailable on {interfaces}: {err}") from err
    entry.async_on_unload(aiozc.async_close)
    discovery = ServiceDiscovery(hub, aiozc, wanted_types(hub))
    await discovery.async_start()
    entry.async_on_unload(discovery.async_stop)
    runtime = ZeroconfRuntime(
        aiozc, discovery, hub_service_info(hub.config, advertised_addresses(interfaces))
    )
    entry.runtime_data = runtime
    # Probing and announcing take about a second; the hub does not wait for them to start.
    task = hub.async_create_task(_async_advertise(runtime), "zeroconf advertise")
    entry.async_on_unload(task.cancel)
    return True


async def _async_advertise(runtime: ZeroconfRuntime) -> None:
    service = runtime.service
    try:
        # Probing (name still free?) happens in the call; announcing in what it returns.
        announcing = await runtime.aiozc.async_register_service(service, allow_name_change=True)
        await announcing
    except Exception as err:  # a LAN problem must not take the hub down: say so and go on
        _LOGGER.error("Could not advertise the hub as %s: %s", service.name, err)
        return
    runtime.registered.set()
    _LOGGER.info(
        "Advertising %s at %s (%s)",
        service.name,
        (service.properties.get(b"url") or b"").decode(),
        ", ".join(service.parsed_addresses()),
    )


async def async_unload_entry(hub: Hub, entry: ConfigEntry) -> bool:
    return True
