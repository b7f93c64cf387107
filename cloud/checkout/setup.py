"""Wires the checkout area: pages, JSON API, the invoice listener and the reconciler."""

from __future__ import annotations

from aiohttp import web

from cloud.api.openapi import ApiRegistry
from cloud.checkout import api as checkout_api
from cloud.checkout import routes


def setup(app: web.Application, api: ApiRegistry) -> None:
    routes.add_page_routes(app)
    checkout_api.setup(api)
