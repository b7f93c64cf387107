"""The low-stock watch: a task in the store that checks stock levels every minute and
mails operators once when a product runs low (cloud/inventory/console.py decides). One
replica runs it at a time, under its lease (cloud/ops/leases.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from cloud.catalog.keys import CATALOG
from cloud.inventory import console
from cloud.ops.const import JOB_LOW_STOCK
from cloud.ops.keys import JOBS
from cloud.web.forms import transaction
from cloud.web.keys import SETTINGS

_LOGGER = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 60.0
STOCK_CONSOLE_PATH = "/admin/stock"


async def async_check_once(app: web.Application) -> list[str]:
    """One check; the SKUs whose operators were mailed. The alert each mail sets is
    claimed by a conditional write in the mail's own transaction, so even two checks at
    once mail once."""
    settings = app[SETTINGS]
    products = [(p.sku, p.name) for p in app[CATALOG].products]
    async with transaction(app) as session:
        return await console.check_low_stock(
            session,
            products,
            settings.low_stock_threshold,
            f"{settings.base_url}{STOCK_CONSOLE_PATH}",
        )


async def _async_run(app: web.Application) -> None:
    while True:
        await asyncio.sleep(CHECK_EVERY_SECONDS)
        try:
            await async_check_once(app)
        except SQLAlchemyError as err:  # the database is away, or another replica wrote
            _LOGGER.warning("low-stock check failed (tried again next round): %s", err)


async def low_stock_ctx(app: web.Application) -> AsyncIterator[None]:
    app[JOBS].add(JOB_LOW_STOCK, lambda: _async_run(app))  # one replica watches
    yield
    await app[JOBS].async_stop(JOB_LOW_STOCK)
