"""Service registry: named actions (``switch.turn_on``) that integrations provide."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.const import EVENT_SERVICE_REGISTERED
from hub.core.callback import callback
from hub.core.errors import ServiceNotFound
from hub.core.events import Context, EventBus

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServiceCall:
    domain: str
    service: str
    data: Mapping[str, Any]
    context: Context = field(default_factory=Context)


ServiceHandler = Callable[[ServiceCall], Awaitable[None]]


class ServiceRegistry:
    """Maps ``domain.service`` to a coroutine handler."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._handlers: dict[tuple[str, str], ServiceHandler] = {}

    @callback
    def async_register(
        self, domain: str, service: str, handler: ServiceHandler
    ) -> Callable[[], None]:
        key = (domain.lower(), service.lower())
        self._handlers[key] = handler
        self._bus.async_fire(EVENT_SERVICE_REGISTERED, {"domain": key[0], "service": key[1]})

        def remove() -> None:
            if self._handlers.get(key) is handler:
                del self._handlers[key]

        return remove

    def has_service(self, domain: str, service: str) -> bool:
        return (domain.lower(), service.lower()) in self._handlers

    @callback
    def async_services(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for domain, service in sorted(self._handlers):
            result.setdefault(domain, []).append(service)
        return result

    async def async_call(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> None:
        """Run the service and wait for it; errors propagate to the caller."""
        handler = self._handlers.get((domain.lower(), service.lower()))
        if handler is None:
            raise ServiceNotFound(domain, service)
        _LOGGER.debug("Calling %s.%s", domain, service)
        await handler(ServiceCall(domain, service, dict(data or {}), context or Context()))
