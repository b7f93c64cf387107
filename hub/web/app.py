"""Web app factory: the hub, sign-in, pages, live updates; everything hangs off the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.dashboards import DEFAULT_DASHBOARDS_DIR, DashboardStore
from hub.web import cloud_views, dashboard_views, presence_views, pwa, stream, views
from hub.web.auth import routes as auth_routes
from hub.web.auth.oidc import OidcRelyingParty
from hub.web.auth.users import UserStore
from hub.web.broker_views import routes as broker_routes
from hub.web.keys import (
    CONFIG_KEY,
    DASHBOARDS_KEY,
    HTTP_KEY,
    HUB_KEY,
    OIDC_KEY,
    STREAMS_KEY,
    USERS_KEY,
)
from hub.web.middleware import authentication, friendly_errors, security_headers

_LOGGER = logging.getLogger(__name__)
WEB_DIR = Path(__file__).resolve().parent


async def async_health(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response(
        {
            "state": hub.state,
            "started_in": hub.started_in,
            "uptime": hub.uptime,
            "entities": len(hub.entity_table),
        }
    )


def create_app(config: HubConfig, hub: Hub | None = None) -> web.Application:
    """Build the web app; it starts the hub with the app and stops it on shutdown."""
    app = web.Application(
        middlewares=[security_headers, friendly_errors, authentication],
        client_max_size=1024**2,
    )
    app[CONFIG_KEY] = config
    app[HUB_KEY] = hub or Hub(config)
    app[USERS_KEY] = UserStore(app[HUB_KEY].storage)
    app[DASHBOARDS_KEY] = DashboardStore(
        config.dashboards_dir or DEFAULT_DASHBOARDS_DIR, config.hub_dir / "dashboards"
    )
    app[STREAMS_KEY] = set()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(WEB_DIR / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )

    async def hub_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[HUB_KEY].async_start()
        yield
        await app[HUB_KEY].async_stop()

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[HTTP_KEY] = session
            redirect = config.redirect_uri or "http://127.0.0.1:8181/auth/callback"
            app[OIDC_KEY] = OidcRelyingParty(session, config.cloud_url, config.client_id, redirect)
            cloud_views.apply_registered_client(app)
            yield

    app.cleanup_ctx.extend([hub_lifecycle, http_client])
    app.on_shutdown.append(stream.async_close_streams)
    app.router.add_get("/healthz", async_health)
    app.router.add_static("/static/", WEB_DIR / "static", append_version=True)
    cloud_views.setup(app)
    tables = (auth_routes.routes, views.routes, stream.routes, presence_views.routes, pwa.routes)
    for table in (*tables, dashboard_views.routes):
        app.router.add_routes(table)
    app.router.add_routes(broker_routes)
    return app
