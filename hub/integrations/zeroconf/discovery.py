"""Browsing: services other integrations asked for in their manifests, resolved and handed on.

An integration lists service types under ``"zeroconf"`` in its manifest.json and defines
``async def async_zeroconf_discovered(hub, service: ZeroconfService)``; it never touches
the zeroconf library. Announcements go through one bounded queue and one worker, so hooks
run one at a time and a chatty LAN cannot grow memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from ethos.tasks import async_cancel_and_wait
from hub.integrations.zeroconf.const import (
    DISCOVERY_HOOK,
    MANIFEST_KEY,
    MAX_QUEUED_ANNOUNCEMENTS,
    RESOLVE_TIMEOUT_MS,
)
from hub.integrations.zeroconf.models import ZeroconfService

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

Hook = Callable[["Hub", ZeroconfService], Awaitable[None]]


def _service_type(matcher: Any) -> str | None:
    """A manifest entry: ``"_mqtt._tcp.local."`` or ``{"type": "_mqtt._tcp.local."}``."""
    text = matcher.get("type") if isinstance(matcher, dict) else matcher
    if not isinstance(text, str) or not text.startswith("_"):
        return None
    return text if text.endswith(".local.") else f"{text.rstrip('.')}.local."


def wanted_types(hub: Hub) -> dict[str, list[Hook]]:
    """Service type -> hooks of the loaded integrations that asked for it."""
    wanted: dict[str, list[Hook]] = {}
    for domain, integration in hub.loaded_integrations.items():
        matchers = integration.manifest.discovery.get(MANIFEST_KEY) or []
        hook = getattr(integration.get_module(), DISCOVERY_HOOK, None)
        if hook is None:
            if matchers:
                _LOGGER.error("%s lists zeroconf types but has no %s", domain, DISCOVERY_HOOK)
            continue
        for matcher in matchers:
            service_type = _service_type(matcher)
            if service_type is None:
                _LOGGER.error("%s: ignoring zeroconf matcher %r", domain, matcher)
                continue
            wanted.setdefault(service_type, []).append(hook)
    return wanted


def _decode(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", "replace")


def to_service(info: AsyncServiceInfo) -> ZeroconfService:
    return ZeroconfService(
        type=info.type,
        name=info.name,
        server=info.server,
        addresses=tuple(info.parsed_scoped_addresses()),
        port=info.port or 0,
        properties={_decode(key) or "": _decode(value) for key, value in info.properties.items()},
    )


class ServiceDiscovery:
    """Browses the wanted types and calls the hooks with each resolved service."""

    def __init__(self, hub: Hub, aiozc: AsyncZeroconf, wanted: dict[str, list[Hook]]) -> None:
        self._hub = hub
        self._aiozc = aiozc
        self._wanted = wanted
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(MAX_QUEUED_ANNOUNCEMENTS)
        self._browser: AsyncServiceBrowser | None = None
        self._worker: asyncio.Task | None = None
        self.found: dict[str, ZeroconfService] = {}
        self.skipped = 0

    async def async_start(self) -> None:
        if not self._wanted:
            return
        self._worker = asyncio.get_running_loop().create_task(
            self._async_work(), name="zeroconf discovery"
        )
        self._browser = AsyncServiceBrowser(
            self._aiozc.zeroconf, list(self._wanted), handlers=[self._on_change]
        )

    async def async_stop(self) -> None:
        if self._browser is not None:
            await self._browser.async_cancel()
            self._browser = None
        await async_cancel_and_wait(self._worker)
        self._worker = None

    def _on_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            self.found.pop(name, None)
            return
        try:
            self._queue.put_nowait((service_type, name))
        except asyncio.QueueFull:
            self.skipped += 1

    async def _async_work(self) -> None:
        while True:
            service_type, name = await self._queue.get()
            info = AsyncServiceInfo(service_type, name)
            if not await info.async_request(self._aiozc.zeroconf, RESOLVE_TIMEOUT_MS):
                _LOGGER.debug("Could not resolve %s", name)
                continue
            service = to_service(info)
            if not service.addresses or not service.port:
                _LOGGER.debug("Ignoring %s: no address or port", name)
                continue
            self.found[name] = service
            _LOGGER.info("Found %s at %s:%s", name, service.host, service.port)
            for hook in self._wanted.get(service_type, []):
                try:
                    await hook(self._hub, service)
                except Exception:
                    _LOGGER.exception("Handling discovered %s failed", name)
