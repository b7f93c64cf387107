"""Wires the inventory area: the owner's devices page, `/api/v1/me/devices`, and the free
units per product that product pages show."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.keys import PERSONAL_DATA
from cloud.inventory import admin, routes
from cloud.inventory.availability import stock_counts_ctx
from cloud.inventory.low_stock import low_stock_ctx
from cloud.inventory.personal_data import DEVICES_HOLDER
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(stock_counts_ctx)  # after the database context: needs its engine
    app.cleanup_ctx.append(low_stock_ctx)  # after the mail context: queues operators' mail
    routes.add_routes(app)
    admin.add_routes(app)  # after the console's setup: adds to its navigation
    app[PERSONAL_DATA].register(DEVICES_HOLDER)
    app[API].include(routes.ROUTES)
