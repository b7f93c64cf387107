"""What integrations add to the web UI's own pages, registered from their ``web.py``.

The device page shows a panel per integration that has something to say about the device
(ownership, presence), the devices page a banner per integration (the store's list of owned
devices), and sign-in, set-up and the users page ask the store link whether and to whom the
hub is linked. hub/web names no integration: it asks this registry, which each integration's
``setup_web(app)`` fills (as Home Assistant's integrations register their frontend panels).
With nothing registered the pages show no panel and the hub is not linked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from hub.core.models import DeviceRow
from hub.web.context import page_context
from hub.web.view_models import DeviceView

# A panel renders itself (or None: nothing to show for this device / on this page).
DevicePanel = Callable[[web.Request, DeviceRow, DeviceView], Awaitable[Markup | None]]
PagePanel = Callable[[web.Request], Awaitable[Markup | None]]


def _never(_app: web.Application) -> bool:
    return False


def _nobody(_app: web.Application) -> str | None:
    return None


def _nothing(_app: web.Application) -> None:
    return None


@dataclass
class StoreLink:
    """The store link as the web UI's own pages see it (filled by the integration that links
    the hub to a store account)."""

    linking_available: Callable[[web.Application], bool] = _never
    is_linked: Callable[[web.Application], bool] = _never
    # The store account (OIDC subject) the hub is linked to: the hub's owner.
    linked_account_subject: Callable[[web.Application], str | None] = _nobody
    # Sign-in uses the client the hub registered at the store, once linked.
    apply_registered_client: Callable[[web.Application], None] = _nothing


@dataclass
class WebExtensions:
    device_panels: list[DevicePanel] = field(default_factory=list)
    devices_panels: list[PagePanel] = field(default_factory=list)
    store_link: StoreLink = field(default_factory=StoreLink)


WEB_EXTENSIONS_KEY = web.AppKey("web_extensions", WebExtensions)


def render_panel(request: web.Request, template: str, **values: Any) -> Markup:
    """A panel's template rendered with the page context (CSRF token, permission test)."""
    env = aiohttp_jinja2.get_env(request.app)
    html = env.get_template(template).render(page_context(request, **values))
    return Markup(html)  # noqa: S704 (rendered by the autoescaping environment)


async def async_device_panels(
    request: web.Request, device: DeviceRow, view: DeviceView
) -> list[Markup]:
    registered = request.app[WEB_EXTENSIONS_KEY].device_panels
    panels = [await panel(request, device, view) for panel in registered]
    return [panel for panel in panels if panel is not None]


async def async_devices_panels(request: web.Request) -> list[Markup]:
    panels = [await panel(request) for panel in request.app[WEB_EXTENSIONS_KEY].devices_panels]
    return [panel for panel in panels if panel is not None]


# The store link, asked by the web UI's own pages ------------------------------------------
def linking_available(app: web.Application) -> bool:
    return app[WEB_EXTENSIONS_KEY].store_link.linking_available(app)


def is_linked(app: web.Application) -> bool:
    return app[WEB_EXTENSIONS_KEY].store_link.is_linked(app)


def linked_account_subject(app: web.Application) -> str | None:
    return app[WEB_EXTENSIONS_KEY].store_link.linked_account_subject(app)


def apply_registered_client(app: web.Application) -> None:
    app[WEB_EXTENSIONS_KEY].store_link.apply_registered_client(app)
