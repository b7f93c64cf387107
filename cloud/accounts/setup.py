"""Wires the accounts area: pages, JSON API, its hooks and the Authorizer's session resolver."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts import api, routes, sessions
from cloud.accounts.hooks import AccountHooks
from cloud.accounts.keys import ACCOUNT_HOOKS
from cloud.authz import SESSION_RESOLVER
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    app[ACCOUNT_HOOKS] = AccountHooks()  # other areas add theirs in their own setup
    app[SESSION_RESOLVER] = sessions.session_principal
    routes.add_page_routes(app)
    app[API].include(api.ROUTES)
