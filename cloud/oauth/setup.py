"""Wires the OpenID Connect provider: its endpoints, pages, bearer resolver and resources.

Call after the database context is registered: the provider's cleanup context needs it.
"""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.keys import PERSONAL_DATA
from cloud.oauth import routes
from cloud.oauth.personal_data import OAUTH_HOLDER


def setup(app: web.Application) -> None:
    routes.add_routes(app)
    app[PERSONAL_DATA].register(OAUTH_HOLDER)
