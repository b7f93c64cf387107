"""The home page at ``/`` (and ``/dashboards/home`` unless the owner wrote their own):
generated from rooms, devices and entities (see ``home_page``)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from hub.web.context import page_context
from hub.web.home_page import async_build_home
from hub.web.keys import HUB_KEY, SPARKLINES_KEY

routes = web.RouteTableDef()
HOME_DASHBOARD = "home"


async def async_render_home(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    sections = await async_build_home(hub, request.app[SPARKLINES_KEY])
    return aiohttp_jinja2.render_template(
        "home.html",
        request,
        page_context(
            request,
            sections=sections,
            device_count=len(hub.devices.async_all()),
            room_count=len(hub.areas.async_all()),
            next="/",
        ),
    )


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    return await async_render_home(request)
