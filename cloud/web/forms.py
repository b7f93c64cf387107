"""Reading browser forms and running one database transaction per user action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.mail.outbox import queued_mail
from cloud.web.keys import DB, MAIL


async def read_form(request: web.Request) -> dict[str, str]:
    """Text fields of a url-encoded or multipart form (files are ignored)."""
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise web.HTTPUnsupportedMediaType(text="Send the form from our page.")
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


@asynccontextmanager
async def transaction(app: web.Application) -> AsyncIterator[AsyncSession]:
    """One atomic unit of work; queued mail is dispatched once it has committed."""
    async with app[DB]() as session, session.begin():
        yield session
    if queued_mail(session):
        app[MAIL].wake()
