"""Wires the inventory area: the owner's devices page and `/api/v1/me/devices`."""

from __future__ import annotations

from aiohttp import web

from cloud.inventory import routes
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    routes.add_routes(app)
    app[API].include(routes.ROUTES)
