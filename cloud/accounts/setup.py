"""Wires the accounts area: pages, JSON API, its hooks and the Authorizer's session resolver."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts import api, data_routes, email_routes, routes, sessions
from cloud.accounts.erasure import ACCOUNT_HOLDER
from cloud.accounts.hooks import AccountHooks
from cloud.accounts.keys import ACCOUNT_HOOKS, PERSONAL_DATA
from cloud.accounts.personal_data import PersonalDataRegistry
from cloud.authz import SESSION_RESOLVER
from cloud.web.keys import API


def setup(app: web.Application) -> None:
    app[ACCOUNT_HOOKS] = AccountHooks()  # other areas add theirs in their own setup
    app[SESSION_RESOLVER] = sessions.session_principal
    # Areas register what they keep about an account; accounts' own rows go last.
    app[PERSONAL_DATA] = PersonalDataRegistry()
    app[PERSONAL_DATA].register(ACCOUNT_HOLDER)
    routes.add_page_routes(app)
    data_routes.add_page_routes(app)
    email_routes.add_page_routes(app)
    app[API].include(api.ROUTES)
