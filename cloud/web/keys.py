"""Typed application keys: everything a handler needs hangs off the app under one of these."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

if TYPE_CHECKING:
    from cloud.api.openapi import ApiRegistry
    from cloud.config import CloudSettings
    from cloud.mail.dispatcher import MailDispatcher

SETTINGS: web.AppKey[CloudSettings] = web.AppKey("settings")
ENGINE: web.AppKey[AsyncEngine] = web.AppKey("engine")
DB: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("db")
MAIL: web.AppKey[MailDispatcher] = web.AppKey("mail")
API: web.AppKey[ApiRegistry] = web.AppKey("api")
