"""Web app factory: the hub, sign-in, pages, live updates; everything hangs off the app."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.core.onboarding import Onboarding
from hub.dashboards import DEFAULT_DASHBOARDS_DIR, DashboardStore
from hub.helpers.secret_box import async_secret_box
from hub.web import (
    backup_views,
    dashboard_views,
    extensions,
    home_views,
    pwa,
    room_views,
    setup_views,
    stream,
    users_views,
    views,
)
from hub.web.auth import routes as auth_routes
from hub.web.auth.account_check import AccountChecker
from hub.web.auth.household import Household
from hub.web.auth.oidc import OidcRelyingParty
from hub.web.auth.store import AuthStore
from hub.web.auth.users import UserStore
from hub.web.extensions import WEB_EXTENSIONS_KEY, WebExtensions
from hub.web.forms import readable_bodies
from hub.web.integration_pages import add_integration_pages
from hub.web.keys import (
    ACCOUNT_CHECK_KEY,
    AUTH_KEY,
    CONFIG_KEY,
    DASHBOARDS_KEY,
    HOUSEHOLD_KEY,
    HTTP_KEY,
    HUB_KEY,
    OIDC_KEY,
    ONBOARDING_KEY,
    RESTART_KEY,
    SPARKLINES_KEY,
    STREAMS_KEY,
    USERS_KEY,
)
from hub.web.middleware import (
    async_hide_server_version,
    authentication,
    friendly_errors,
    security_headers,
)
from hub.web.sparkline import SparklineCache

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
            "write_problems": hub.write_problems.messages(),
        }
    )


def _printable(value: object) -> object:
    """What a page writes for a value: a missing one as nothing (never "None"), a Decimal
    in full (``0.00000000``, never ``0E-8``)."""
    if value is None:
        return ""
    decimal = sys.modules.get("decimal")  # a Decimal exists only once decimal is imported
    if decimal is not None and isinstance(value, decimal.Decimal):
        return format(value, "f")
    return value


def _restart_by_hand() -> None:
    _LOGGER.warning("Restart the hub to finish restoring the backup")


def create_app(
    config: HubConfig, hub: Hub | None = None, restart: Callable[[], None] = _restart_by_hand
) -> web.Application:
    """Build the web app; it starts the hub with the app and stops it on shutdown.
    ``restart`` restarts the process (``ethos hub serve`` gives one that does)."""
    app = web.Application(
        middlewares=[security_headers, friendly_errors, readable_bodies, authentication],
        client_max_size=1024**2,
    )
    app.on_response_prepare.append(async_hide_server_version)
    app[CONFIG_KEY] = config
    app[HUB_KEY] = hub or Hub(config)
    app[AUTH_KEY] = AuthStore(app[HUB_KEY].storage)
    app[USERS_KEY] = UserStore(app[AUTH_KEY])
    app[HOUSEHOLD_KEY] = Household(app[AUTH_KEY])
    app[ACCOUNT_CHECK_KEY] = AccountChecker(
        app[AUTH_KEY],
        config.account_check_interval,
        lambda: async_secret_box(app[HUB_KEY]),
        lambda: app[OIDC_KEY],
        lambda user_id: stream.close_streams_of(app, user_id),
    )
    app[DASHBOARDS_KEY] = DashboardStore(
        config.dashboards_dir or DEFAULT_DASHBOARDS_DIR, config.hub_dir / "dashboards"
    )
    app[STREAMS_KEY] = set()
    app[SPARKLINES_KEY] = SparklineCache()
    app[ONBOARDING_KEY] = Onboarding(app[HUB_KEY].storage, lambda: extensions.is_linked(app))
    app[RESTART_KEY] = restart
    app[WEB_EXTENSIONS_KEY] = WebExtensions()
    # Integrations' pages, their templates (looked up after the web UI's own) and panels.
    folders = add_integration_pages(app, config.integration_sources)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader([WEB_DIR / "templates", *folders]),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        finalize=_printable,
    )

    async def hub_lifecycle(app: web.Application) -> AsyncIterator[None]:
        await app[HUB_KEY].async_start()
        await app[AUTH_KEY].async_load()
        await app[ONBOARDING_KEY].async_load()
        yield
        await app[HUB_KEY].async_stop()

    async def http_client(app: web.Application) -> AsyncIterator[None]:
        async with aiohttp.ClientSession() as session:
            app[HTTP_KEY] = session
            redirect = config.redirect_uri or "http://127.0.0.1:8181/auth/callback"
            app[OIDC_KEY] = OidcRelyingParty(session, config.cloud_url, config.client_id, redirect)
            extensions.apply_registered_client(app)
            app[ACCOUNT_CHECK_KEY].async_start()
            yield
            await app[ACCOUNT_CHECK_KEY].async_stop()

    app.cleanup_ctx.extend([hub_lifecycle, http_client])
    app.on_shutdown.append(stream.async_close_streams)
    app.router.add_get("/healthz", async_health)
    app.router.add_static("/static/", WEB_DIR / "static", append_version=True)
    tables = (auth_routes.routes, views.routes, stream.routes, pwa.routes)
    others = (dashboard_views.routes, users_views.routes, backup_views.routes)
    rooms = (home_views.routes, room_views.routes, setup_views.routes)
    for table in (*tables, *others, *rooms):
        app.router.add_routes(table)
    return app
