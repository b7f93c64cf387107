"""Product pages' availability: counted once and reused, yet exact after this store's own
purchases and imports, and a stock change made by another process shows after the TTL."""

from __future__ import annotations

import asyncio
import re

from cloud import db
from cloud.catalog.keys import CATALOG
from cloud.inventory.availability import COUNT_CAP, RECOUNT_BELOW, StockCounts
from cloud.inventory.importer import import_stock
from cloud.web.keys import DB, ENGINE
from tests.cloud.checkout.shop import Shop

AVAILABLE = re.compile(r'class="availability [^"]+" data-available="(\d+)"')


async def _available_on_page(shop: Shop, sku: str = "EPD-1") -> int:
    page = await (await shop.client.get(f"/products/{sku}")).text()
    found = AVAILABLE.search(page)
    assert found, page
    return int(found.group(1))


def _skus(shop: Shop) -> list[str]:
    return list(shop.app[CATALOG].skus)


async def test_the_page_counts_what_checkouts_hold_at_once(shop: Shop) -> None:
    await shop.add_stock("EPD-1", 12)
    assert await _available_on_page(shop) == 12
    assert await _available_on_page(shop) == 12  # the second view reuses the count

    await shop.place_order("EPD-1", 3)
    assert await _available_on_page(shop) == 9
    page = await (await shop.client.get("/products/EPD-1")).text()
    assert "<strong>9 left</strong>" in page

    await shop.place_order("EPD-1", 9, email="second@example.com")
    page = await (await shop.client.get("/products/EPD-1")).text()
    assert 'data-available="0"' in page and "Out of stock" in page

    await shop.add_stock("EPD-1", 2)
    assert await _available_on_page(shop) == 2


async def test_a_well_stocked_product_is_counted_up_to_the_cap(shop: Shop) -> None:
    await shop.add_stock("EPD-1", COUNT_CAP + 30)
    page = await (await shop.client.get("/products/EPD-1")).text()
    assert f'data-available="{COUNT_CAP}"' in page and "In stock" in page
    assert " left</strong>" not in page

    # Held units lower the capped count (a lower bound) without counting again...
    await shop.place_order("EPD-1", 10)
    assert await _available_on_page(shop) == COUNT_CAP - 10
    # ...until it falls below RECOUNT_BELOW: then the page counts, exactly.
    held = 10
    while COUNT_CAP - held >= RECOUNT_BELOW:
        await shop.place_order("EPD-1", 10, email=f"buyer{held}@example.com")
        held += 10
    assert await _available_on_page(shop) == COUNT_CAP + 30 - held


async def test_stock_another_process_imports_shows_after_the_ttl(shop: Shop) -> None:
    counts = StockCounts(shop.app[ENGINE], _skus(shop), ttl_seconds=0.1)
    try:
        assert await counts.async_available("EPD-1") == 0
        # Another process: its own engine on the same database (as `ethos cloud stock import`).
        other = db.create_engine(shop.settings.database_url, shop.settings.database_schema)
        skus = set(shop.app[CATALOG].skus)
        csv = "serial,sku,claim_secret\nEPD-900001,EPD-1," + "ab" * 32 + "\n"
        try:
            async with db.session_factory(other)() as session, session.begin():
                await import_stock(session, shop.settings.secret_key, csv, skus)
        finally:
            await other.dispose()
        await asyncio.sleep(0.15)
        assert await counts.async_available("EPD-1") == 1
        assert await counts.async_available("NO-SUCH-SKU") == 0
    finally:
        counts.close()


async def test_a_rolled_back_write_keeps_the_counts_right(shop: Shop) -> None:
    await shop.add_stock("EPD-1", 4)
    counts = StockCounts(shop.app[ENGINE], _skus(shop), ttl_seconds=60)
    try:
        assert await counts.async_available("EPD-1") == 4
        skus = set(shop.app[CATALOG].skus)
        csv = "serial,sku,claim_secret\nEPD-900002,EPD-1," + "cd" * 32 + "\n"
        session_factory = shop.app[DB]
        try:
            async with session_factory() as session, session.begin():
                await import_stock(session, shop.settings.secret_key, csv, skus)
                raise RuntimeError("abandoned")
        except RuntimeError:
            pass
        assert await counts.async_available("EPD-1") == 4
        await shop.add_stock("EPD-1", 1)
        assert await counts.async_available("EPD-1") == 5
    finally:
        counts.close()
