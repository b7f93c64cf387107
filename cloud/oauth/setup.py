"""Wires the OpenID Connect provider: its endpoints, pages, bearer resolver and resources.

Call after the database context is registered: the provider's cleanup context needs it.
"""

from __future__ import annotations

from aiohttp import web

from cloud.oauth import routes


def setup(app: web.Application) -> None:
    routes.add_routes(app)
