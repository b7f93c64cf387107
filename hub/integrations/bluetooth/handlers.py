"""How another integration asks for advertisements: it registers a handler factory at its
setup; each adapter's manager makes a handler and hands it what that integration's manifest
matches. Light on purpose (no bleak import): integrations register before any adapter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub


class AdvertisementHandler(Protocol):
    """What an integration that reads advertisements gives each adapter's manager."""

    def start(self) -> None: ...

    async def async_stop(self) -> None: ...

    async def async_handle(
        self, device: BLEDevice, advertisement: AdvertisementData, heard_at: float
    ) -> None: ...

    def mark_stale(self, now: float, stale_after: float) -> None: ...


# Makes a handler for an adapter's entry (which owns the entities) and its device cap.
HandlerFactory = Callable[["Hub", "ConfigEntry[Any]", int], AdvertisementHandler]
HANDLER_FACTORIES: HubKey[dict[str, HandlerFactory]] = HubKey("bluetooth.handler_factories")


def register_handler(hub: Hub, domain: str, factory: HandlerFactory) -> None:
    """Each adapter's manager will make a handler with ``factory`` for ``domain``."""
    factories = hub.data.get(HANDLER_FACTORIES)
    if factories is None:
        factories = hub.data[HANDLER_FACTORIES] = {}
    factories[domain] = factory
