"""Wires the shipping area: the housekeeping job that erases shipping addresses whose time
is up (ETHOS_ADDRESS_ERASE_DAYS after delivery), and the console's shipping pages."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from cloud.accounts.keys import PERSONAL_DATA
from cloud.ops.const import JOB_ADDRESS_ERASURE
from cloud.ops.keys import JOBS
from cloud.shipping import admin, service
from cloud.shipping.personal_data import shipping_holder
from cloud.web.keys import DB, SETTINGS

_LOGGER = logging.getLogger(__name__)

ERASE_EVERY_SECONDS = 600.0  # addresses are kept for days: a few minutes late is nothing


async def async_erase_once(app: web.Application) -> int:
    """One pass of the erasure job (idempotent: a replica taking the lease over mid-way
    repeats nothing)."""
    async with app[DB]() as session, session.begin():
        return await service.erase_due_addresses(session, app[SETTINGS].address_erase_days)


async def _async_run_erasure(app: web.Application) -> None:
    while True:
        try:
            await async_erase_once(app)
        except SQLAlchemyError as err:  # the database is away: try again next round
            _LOGGER.warning("shipping: address erasure failed: %s", err)
        await asyncio.sleep(ERASE_EVERY_SECONDS)


async def _erasure_ctx(app: web.Application) -> AsyncIterator[None]:
    app[JOBS].add(JOB_ADDRESS_ERASURE, lambda: _async_run_erasure(app))  # one replica erases
    yield
    await app[JOBS].async_stop(JOB_ADDRESS_ERASURE)


def setup(app: web.Application) -> None:
    """Call after the console's setup (its pages join the console's navigation)."""
    app.cleanup_ctx.append(_erasure_ctx)  # after the database context: needs its engine
    admin.add_routes(app)
    # After checkout: erased before the orders lose their link to the account.
    app[PERSONAL_DATA].register(shipping_holder(app[SETTINGS].secret_key))
