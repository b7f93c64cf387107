"""The home page's shelf: replaced by filtered results, and never a silent gap when nothing
recommendable is in stock. Product pages say how many are left."""

from __future__ import annotations

import re

from cloud.catalog.keys import CATALOG
from cloud.recommender.web import COLD_START_TITLE, COMING_BACK_NOTE, COMING_BACK_TITLE
from tests.cloud.checkout.shop import open_shop
from tests.cloud.recommender.store_support import prepared


async def _shop(aiohttp_client, cloud_settings, sim, smtp_server):
    return await open_shop(
        aiohttp_client, cloud_settings, sim, smtp_server, with_webhook=True, prepare=prepared()
    )


def _shelf_ids(page: str) -> list[str]:
    return re.findall(
        r'<section class="recommendations[^"]*" aria-labelledby="shelf-([^"]+)"', page
    )


def _grid_skus(page: str) -> list[str]:
    grid = page.split('<ul class="grid products">', 1)[-1] if "grid products" in page else page
    return re.findall(r'href="/products/([^"]+)"', grid)


async def test_filtered_results_replace_the_popular_picks(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _shop(aiohttp_client, cloud_settings, sim, smtp_server)
    for product in shop.app[CATALOG].products:
        await shop.add_stock(product.sku, 3)
    home = await (await shop.client.get("/")).text()
    assert _shelf_ids(home) == ["recommended"] and COLD_START_TITLE in home

    for query in ("?category=bulb", "?sort=privacy", "?category=sensor&sort=price"):
        response = await shop.client.get(f"/{query}")
        assert response.status == 200, query
        page = await response.text()
        assert _shelf_ids(page) == [], query
        assert COLD_START_TITLE not in page, query
        assert '<h2 class="results">' in page, query
    bulbs = await (await shop.client.get("/?category=bulb")).text()
    assert "Bulb" in bulbs.split('<h2 class="results">', 1)[1].split("</h2>", 1)[0]


async def test_with_nothing_in_stock_the_home_page_says_so_and_shows_what_comes_back(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _shop(aiohttp_client, cloud_settings, sim, smtp_server)  # no stock at all

    page = await (await shop.client.get("/")).text()

    assert _shelf_ids(page) == ["coming-back"]
    assert COMING_BACK_TITLE in page and COMING_BACK_NOTE in page
    reasons = re.findall(r'<p class="reason note">([^<]+)</p>', page)
    assert reasons and all(r.startswith("out of stock, coming back") for r in reasons)


async def test_product_page_says_how_many_are_left(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _shop(aiohttp_client, cloud_settings, sim, smtp_server)

    out = await (await shop.client.get("/products/EPD-1")).text()
    assert 'data-available="0"' in out and "Out of stock" in out
    assert '<button type="submit" disabled>Out of stock</button>' in out

    await shop.add_stock("EPD-1", 5)
    few = await (await shop.client.get("/products/EPD-1")).text()
    assert "<strong>5 left</strong>" in few and ">Add to cart</button>" in few

    await shop.add_stock("EPD-1", 20)
    many = await (await shop.client.get("/products/EPD-1")).text()
    assert "<strong>In stock</strong>" in many and " left</strong>" not in many
