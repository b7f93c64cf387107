"""The doorbell's page, its panel on doorbells' device pages, a banner on the devices page,
and a store link that says the hub is linked to the account ``doorbell-owner``."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from hub.core.models import DeviceRow
from hub.web.context import page_context
from hub.web.extensions import WEB_EXTENSIONS_KEY, StoreLink, render_panel
from hub.web.view_models import DeviceView

routes = web.RouteTableDef()


@routes.get("/doorbell")
async def doorbell_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("doorbell.html", request, page_context(request, rings=3))


async def async_panel(request: web.Request, device: DeviceRow, view: DeviceView) -> Markup | None:
    if device.manufacturer != "Doorbells Ltd":
        return None
    return render_panel(request, "_doorbell.html", device=view)


async def async_banner(request: web.Request) -> Markup | None:
    return Markup('<p id="doorbell-banner">Someone rang</p>')


def setup_web(app: web.Application) -> None:
    extensions = app[WEB_EXTENSIONS_KEY]
    extensions.device_panels.append(async_panel)
    extensions.devices_panels.append(async_banner)
    extensions.store_link = StoreLink(
        linking_available=lambda _app: True,
        is_linked=lambda _app: True,
        linked_account_subject=lambda _app: "doorbell-owner",
    )
