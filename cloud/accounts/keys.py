"""Typed application keys of the accounts area."""

from __future__ import annotations

from aiohttp import web

from cloud.accounts.hooks import AccountHooks
from cloud.accounts.personal_data import PersonalDataRegistry

ACCOUNT_HOOKS: web.AppKey[AccountHooks] = web.AppKey("account_hooks", AccountHooks)
PERSONAL_DATA: web.AppKey[PersonalDataRegistry] = web.AppKey("personal_data", PersonalDataRegistry)
