"""Typed application keys of the accounts area."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.hooks import AccountHooks

ACCOUNT_HOOKS: web.AppKey[AccountHooks] = web.AppKey("account_hooks", AccountHooks)
