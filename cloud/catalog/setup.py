"""Wires the catalog area: the products (from the JSON files), their pages and JSON API."""

from __future__ import annotations

from aiohttp import web

from cloud.catalog import routes
from cloud.catalog.keys import CATALOG
from cloud.catalog.loader import load_catalog
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    app[CATALOG] = load_catalog()
    routes.add_routes(app)
    app[API].include(routes.ROUTES)
