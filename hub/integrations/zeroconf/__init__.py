"""Zeroconf integration: advertises the hub as ``_ethos-hub._tcp`` and browses for services.

One entry, created at start. The advertised name is the one the owner gave in the set-up
flow (``hub.core_config``, the environment's as default); a rename re-registers the
service under the new name. mDNS runs on the interfaces the web UI listens on (127.0.0.1
when the hub listens on loopback only, so a default install says nothing to the LAN).
Other integrations receive services through ``discovery.py``'s hook, e.g. MQTT finds a
broker announced as ``_mqtt._tcp`` when MQTT_URL is not set.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub.const import EVENT_CORE_CONFIG_UPDATED
from hub.core.errors import ConfigEntryNotReady
from hub.integrations.zeroconf.advertiser import (
    advertised_addresses,
    hub_service_info,
    mdns_interfaces,
)
from hub.integrations.zeroconf.const import DOMAIN, TITLE, TXT_NAME
from hub.integrations.zeroconf.discovery import ServiceDiscovery, wanted_types
from hub.integrations.zeroconf.models import ZeroconfService

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.events import Event
    from hub.core.hub import Hub

__all__ = ["ZeroconfRuntime", "ZeroconfService"]

_LOGGER = logging.getLogger(__name__)


@dataclass
class ZeroconfRuntime:
    """What the entry holds while loaded."""

    aiozc: AsyncZeroconf
    discovery: ServiceDiscovery
    service: AsyncServiceInfo
    addresses: list[str]
    # Set once the current service is announced; cleared while a rename re-registers it.
    registered: asyncio.Event = field(default_factory=asyncio.Event)
    # One (un)registration at a time: a rename waits for the first announcement to finish.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def name(self) -> str:
        """The hub's name as advertised now (TXT ``name``)."""
        return self.service.decoded_properties.get(TXT_NAME) or ""

    def cancel_tasks(self) -> None:
        for task in self.tasks:
            task.cancel()


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
    addresses = advertised_addresses(interfaces)
    service = hub_service_info(hub.config, hub.core_config.name, addresses)
    runtime = ZeroconfRuntime(aiozc, discovery, service, addresses)
    entry.runtime_data = runtime
    # Probing and announcing take about a second; the hub does not wait for them to start.
    _start(hub, runtime, _async_advertise(runtime), "zeroconf advertise")
    entry.async_on_unload(runtime.cancel_tasks)

    def name_maybe_changed(event: Event) -> None:
        if hub.core_config.name != runtime.name:
            _start(hub, runtime, _async_rename(hub, runtime), "zeroconf rename")

    entry.async_on_unload(hub.bus.async_listen(EVENT_CORE_CONFIG_UPDATED, name_maybe_changed))
    return True


def _start(hub: Hub, runtime: ZeroconfRuntime, coro: Coroutine[Any, Any, None], name: str) -> None:
    task = hub.async_create_task(coro, name)
    runtime.tasks.add(task)
    task.add_done_callback(runtime.tasks.discard)


async def _async_advertise(runtime: ZeroconfRuntime) -> None:
    async with runtime.lock:
        await _async_register(runtime)


async def _async_register(runtime: ZeroconfRuntime) -> None:
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


async def _async_rename(hub: Hub, runtime: ZeroconfRuntime) -> None:
    """Withdraw the advertisement (a goodbye) and announce the hub under its new name."""
    async with runtime.lock:
        name = hub.core_config.name
        old = runtime.service
        if name == runtime.name:
            return  # a rename back, or two saves: the advertisement is already right
        if runtime.registered.is_set():
            runtime.registered.clear()
            try:
                await (await runtime.aiozc.async_unregister_service(old))
            except Exception as err:  # the new name is still announced below
                _LOGGER.warning("Could not withdraw the advertisement %s: %s", old.name, err)
        runtime.service = hub_service_info(hub.config, name, runtime.addresses)
        _LOGGER.info("Hub renamed: advertising it as %s instead of %s", name, old.name)
        await _async_register(runtime)


async def async_unload_entry(hub: Hub, entry: ConfigEntry) -> bool:
    return True
