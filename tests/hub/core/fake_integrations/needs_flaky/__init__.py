"""A test integration that records which integrations were loaded before it."""

from __future__ import annotations

from hub.core.hub import Hub


async def async_setup(hub: Hub) -> bool:
    hub.data["needs_flaky"] = sorted(d for d in hub.loaded_integrations if d != "needs_flaky")
    return True
