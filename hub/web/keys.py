"""Typed keys for what hangs off the web app."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
from aiohttp import web

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.core.onboarding import Onboarding
from hub.dashboards import DashboardStore
from hub.web.auth.account_check import AccountChecker
from hub.web.auth.household import Household
from hub.web.auth.oidc import OidcRelyingParty
from hub.web.auth.store import AuthStore
from hub.web.auth.users import Principal, UserStore
from hub.web.sparkline import SparklineCache

HUB_KEY = web.AppKey("hub", Hub)
CONFIG_KEY = web.AppKey("config", HubConfig)
AUTH_KEY = web.AppKey("auth", AuthStore)
USERS_KEY = web.AppKey("users", UserStore)
HOUSEHOLD_KEY = web.AppKey("household", Household)
ACCOUNT_CHECK_KEY = web.AppKey("account_check", AccountChecker)
OIDC_KEY = web.AppKey("oidc", OidcRelyingParty)
HTTP_KEY = web.AppKey("http", aiohttp.ClientSession)
DASHBOARDS_KEY = web.AppKey("dashboards", DashboardStore)
STREAMS_KEY = web.AppKey("streams", set)
ONBOARDING_KEY = web.AppKey("onboarding", Onboarding)  # the first-run set-up's progress
SPARKLINES_KEY = web.AppKey("sparklines", SparklineCache)  # the home page's, kept drawn
# None for a stranger on a public page (the middleware sends strangers elsewhere to sign in).
PRINCIPAL_KEY: web.RequestKey[Principal | None] = web.RequestKey("principal")
# Restarts the hub's process (after a restore); tests give their own.
RESTART_KEY: web.AppKey[Callable[[], None]] = web.AppKey("restart")
