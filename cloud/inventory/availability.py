"""How many free units each product has, for the product pages, without a query per view.

A product page says "In stock", "3 left" or "Out of stock". Counting the free units on
every view cost a database round trip per page, the largest part of a buyer's CPU time
before checkout. `StockCounts` counts every SKU's free units in one query and reuses the
answer until stock may have changed. Each count stops at `COUNT_CAP`: a page says how many
are left only from `LOW_STOCK` down, and a cart asks for at most ten of a product, so "at
least 100" answers both, and the query's cost stays the same however much is in stock.
A count at the cap is a lower bound; units held since only lower it, and once it falls
below `RECOUNT_BELOW` the next view counts again. Counts move:

- in this process: a checkout holding units (statements marked `HOLDS_FREE_UNITS`) moves
  the counts by what it held once its transaction has committed and its connection is
  back in the pool; any other statement that writes `stock_units` (an import, a release,
  a sale from stock) makes them stale at once; no count read while such a transaction is
  open is kept. A page shown after a purchase or an import committed here is exact (up
  to the cap);
- in another process (a replica, `ethos cloud stock import`): the counts are kept at most
  `STOCK_COUNT_TTL_SECONDS`, as the recommender's shelves keep their in-stock list.

Checkout never relies on these counts: it reserves units in its own transaction.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiohttp import web
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud.catalog.keys import CATALOG
from cloud.inventory.models import StockUnit
from cloud.inventory.service import HOLDS_FREE_UNITS, free_units_up_to
from cloud.web.keys import ENGINE

STOCK_COUNT_TTL_SECONDS = 2.0  # how stale another process's stock change may show
COUNT_CAP = 100  # free units are counted up to this many per SKU
RECOUNT_BELOW = COUNT_CAP // 2  # a capped count lowered below this is counted again
_STOCK_TABLE = StockUnit.__tablename__
# Flags on a pooled connection's info, from its first stock write until it is back in the pool
_WRITING = "ethos_writes_stock"
_PENDING = "ethos_stock_pending"  # SKU -> change in free units, this transaction
_COMMITTED = "ethos_stock_committed"  # SKU -> change in free units, committed
_UNKNOWN = "ethos_stock_unknown"  # a stock write whose effect on the counts is not known


class StockCounts:
    """Free units of the catalog's SKUs for one engine, up to `COUNT_CAP` each;
    `async_available` is what a page shows."""

    def __init__(
        self,
        engine: AsyncEngine,
        skus: Sequence[str],
        ttl_seconds: float = STOCK_COUNT_TTL_SECONDS,
    ) -> None:
        self._engine = engine
        self._skus = tuple(skus)
        self._count_statement = free_units_up_to(self._skus, COUNT_CAP) if self._skus else None
        self._ttl = ttl_seconds
        self._counts: dict[str, int] | None = None
        self._capped: frozenset[str] = frozenset()  # SKUs whose count is a lower bound
        self._read_at = 0.0
        self._generation = 0  # moves whenever stock may have changed in this process
        self._counted_generation = -1
        self._open_writers = 0  # transactions of this process that wrote stock, not ended
        self._lock = asyncio.Lock()
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "after_cursor_execute", self._after_execute)
        event.listen(sync_engine, "commit", self._on_commit)
        event.listen(sync_engine, "rollback", self._on_rollback)
        event.listen(sync_engine, "checkin", self._on_checkin)
        event.listen(sync_engine, "invalidate", self._on_invalidate)

    def close(self) -> None:
        sync_engine = self._engine.sync_engine
        event.remove(sync_engine, "after_cursor_execute", self._after_execute)
        event.remove(sync_engine, "commit", self._on_commit)
        event.remove(sync_engine, "rollback", self._on_rollback)
        event.remove(sync_engine, "checkin", self._on_checkin)
        event.remove(sync_engine, "invalidate", self._on_invalidate)

    async def async_available(self, sku: str) -> int:
        """Free units of `sku`, up to `COUNT_CAP` (0 for a SKU without any or not sold)."""
        counts = self._fresh()
        if counts is None:
            async with self._lock:  # concurrent views share one count
                counts = self._fresh()
                if counts is None:
                    counts = await self._async_count()
        return counts.get(sku, 0)

    def _fresh(self) -> dict[str, int] | None:
        if (
            self._counts is not None
            and self._counted_generation == self._generation
            and time.monotonic() - self._read_at < self._ttl
        ):
            return self._counts
        return None

    async def _async_count(self) -> dict[str, int]:
        generation, writers = self._generation, self._open_writers
        read_at = time.monotonic()
        counts: dict[str, int] = {}
        if self._count_statement is not None:
            async with self._engine.connect() as connection:
                row = (await connection.execute(self._count_statement)).one()
            counts = {sku: int(count) for sku, count in zip(self._skus, row, strict=True)}
        # Kept only if no write of this process could have been half-seen.
        if writers == 0 and self._open_writers == 0 and generation == self._generation:
            self._counts, self._read_at, self._counted_generation = counts, read_at, generation
            self._capped = frozenset(sku for sku, count in counts.items() if count >= COUNT_CAP)
        return counts

    def _after_execute(
        self,
        connection: Connection,
        cursor: Any,
        statement: str,
        _parameters: Any,
        context: DefaultExecutionContext,
        _executemany: bool,
    ) -> None:
        writes = context.isinsert or context.isupdate or context.isdelete
        if not writes or _STOCK_TABLE not in statement:
            return
        info = connection.info
        if not info.get(_WRITING):
            info[_WRITING] = True
            self._open_writers += 1
        if context.execution_options.get(HOLDS_FREE_UNITS):
            # Units held for an order: the count follows once the transaction commits.
            sku = str(context.compiled_parameters[0]["b_sku"])
            pending = info.setdefault(_PENDING, {})
            pending[sku] = pending.get(sku, 0) - max(cursor.rowcount, 0)
        else:
            info[_UNKNOWN] = True  # any other stock write: count again
            self._generation += 1

    def _on_commit(self, connection: Connection) -> None:
        info = connection.info
        committed = info.setdefault(_COMMITTED, {})
        for sku, change in info.pop(_PENDING, {}).items():
            committed[sku] = committed.get(sku, 0) + change

    def _on_rollback(self, connection: Connection) -> None:
        connection.info.pop(_PENDING, None)

    def _on_checkin(self, _dbapi_connection: Any, record: Any) -> None:
        # Back in the pool: its transactions have committed or rolled back.
        if record is None or not record.info.pop(_WRITING, False):
            return
        info = record.info
        info.pop(_PENDING, None)  # never committed
        committed: dict[str, int] = info.pop(_COMMITTED, {})
        unknown = info.pop(_UNKNOWN, False)
        self._open_writers -= 1
        still_counted = self._counts is not None and self._counted_generation == self._generation
        self._generation += 1
        if still_counted and not unknown and self._counts is not None:
            for sku, change in committed.items():
                self._counts[sku] = self._counts.get(sku, 0) + change
            if not any(
                self._counts[sku] < RECOUNT_BELOW for sku in committed if sku in self._capped
            ):
                self._counted_generation = self._generation

    def _on_invalidate(self, dbapi_connection: Any, record: Any, _exception: Any) -> None:
        # A connection dropped mid-transaction never comes back with its flags.
        if record is not None and record.info.get(_WRITING):
            record.info[_UNKNOWN] = True
        self._on_checkin(dbapi_connection, record)


STOCK_COUNTS: web.AppKey[StockCounts] = web.AppKey("stock_counts", StockCounts)


async def stock_counts_ctx(app: web.Application) -> AsyncIterator[None]:
    """The app's counts, on its engine (register after the database context)."""
    skus = app[CATALOG].skus
    counts = app[STOCK_COUNTS] = StockCounts(app[ENGINE], skus)
    yield
    counts.close()
