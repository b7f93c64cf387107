"""Web app factory: creates the Hub, starts it with the app and stops it on shutdown."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from hub.core.config import HubConfig
from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

HUB_KEY = web.AppKey("hub", Hub)


async def async_health(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response({"state": hub.state, "started_in": hub.started_in})


def create_app(config: HubConfig, hub: Hub | None = None) -> web.Application:
    """Build the web app; it starts and stops the hub (or a given, not-yet-started hub)."""
    app = web.Application()
    app[HUB_KEY] = hub or Hub(config)

    async def hub_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[HUB_KEY].async_start()
        yield
        await app[HUB_KEY].async_stop()

    app.cleanup_ctx.append(hub_lifecycle)
    app.router.add_get("/healthz", async_health)
    return app
