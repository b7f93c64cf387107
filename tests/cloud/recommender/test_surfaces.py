"""The recommender in the store: the API, the home page and product pages, fed by orders
that really settle through checkout and the BTCPay simulator, and a restart."""

from __future__ import annotations

import re
from dataclasses import replace

from cloud.catalog.keys import CATALOG
from cloud.recommender.web import (
    API_ITEMS,
    COLD_START_TITLE,
    PERSONAL_TITLE,
    RECOMMENDER,
    SIMILAR_TITLE,
    TOGETHER_TITLE,
)
from tests.cloud.checkout.shop import open_shop
from tests.cloud.common import log_in
from tests.cloud.recommender.store_support import (
    FAST,
    buy,
    new_shopper,
    prepared,
    wait_trained_on,
)

# Everything in stock except these (no units imported at all).
SOLD_OUT = {"MMW-LITE", "DOOR-ZB"}


async def _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server, **prepare_args):
    shop = await open_shop(
        aiohttp_client,
        cloud_settings,
        sim,
        smtp_server,
        with_webhook=True,
        prepare=prepared(**prepare_args),
    )
    for product in shop.app[CATALOG].products:
        if product.sku not in SOLD_OUT:
            await shop.add_stock(product.sku, 3)
    return shop


def _shelf(page: str, shelf_id: str) -> str:
    match = re.search(
        rf'<section[^>]*aria-labelledby="shelf-{shelf_id}">(.*?)</section>', page, re.S
    )
    return match.group(1) if match else ""


def _shelf_items(shelf: str) -> dict[str, str]:
    """SKU → reason, as shown."""
    return dict(
        re.findall(r'data-sku="([^"]+)">.*?<p class="reason note">([^<]+)</p>', shelf, re.S)
    )


async def test_a_buyer_gets_reasons_without_owned_or_sold_out_items(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    ada = await new_shopper(aiohttp_client, shop, "ada@example.com")
    await buy(shop, ada, "EPD-1")
    await wait_trained_on(shop.app, 1)

    response = await ada.client.get("/api/v1/me/recommendations")
    assert response.status == 200
    body = await response.json()
    assert body["personal"] is True and body["title"] == PERSONAL_TITLE
    skus = [item["sku"] for item in body["items"]]
    assert skus, body
    assert "EPD-1" not in skus  # owned (and still in stock: two units left)
    assert not SOLD_OUT & set(skus)
    assert all(item["reason"].strip() for item in body["items"])
    catalog = shop.app[CATALOG]
    for item in body["items"]:
        product = catalog.get(item["sku"])
        assert product is not None and item["name"] == product.name
        assert item["price"] == str(product.price) and item["url"] == f"/products/{item['sku']}"

    page = await (await ada.client.get("/")).text()
    shelf = _shelf(page, "recommended")
    assert PERSONAL_TITLE in shelf and COLD_START_TITLE not in shelf
    shown = _shelf_items(shelf)
    assert shown and "EPD-1" not in shown and not SOLD_OUT & set(shown)
    assert set(shown) <= set(skus)
    assert all(reason.strip() for reason in shown.values())


async def test_new_and_anonymous_shoppers_get_the_cold_start_list(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    newcomer = await new_shopper(aiohttp_client, shop, "new@example.com")

    body = await (await newcomer.client.get("/api/v1/me/recommendations")).json()
    assert body["personal"] is False and body["title"] == COLD_START_TITLE
    skus = [item["sku"] for item in body["items"]]
    assert skus and not SOLD_OUT & set(skus)
    # Cold start is ethics first: no listed product scores below one left out.
    mean = {
        p.sku: sum(getattr(p.scores, axis).score for axis in ("privacy", "openness", "environment"))
        for p in shop.app[CATALOG].products
    }
    left_out = set(mean) - set(skus) - SOLD_OUT
    assert min(mean[s] for s in skus[:3]) >= max(mean[s] for s in left_out)

    anonymous = await aiohttp_client(shop.client.server)
    page = await (await anonymous.get("/")).text()
    shelf = _shelf(page, "recommended")
    assert COLD_START_TITLE in shelf and PERSONAL_TITLE not in shelf
    shown = _shelf_items(shelf)
    assert list(shown) == skus[: len(shown)]
    assert all(reason.strip() for reason in shown.values())
    # The home page's shorter list does not shorten the API's (12 products in stock).
    again = await (await newcomer.client.get("/api/v1/me/recommendations")).json()
    assert len(again["items"]) == API_ITEMS and [i["sku"] for i in again["items"]] == skus


async def test_product_page_shows_what_is_often_bought_together(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    page = await (await shop.client.get("/products/EPD-1")).text()
    shelf = _shelf(page, "together")
    assert SIMILAR_TITLE in shelf and TOGETHER_TITLE not in shelf  # nothing bought yet
    assert all(r.startswith("similar to") for r in _shelf_items(shelf).values())

    for email in ("a@example.com", "b@example.com"):
        shopper = await new_shopper(aiohttp_client, shop, email)
        await buy(shop, shopper, "EPD-1", "TH-BTHOME")
    await wait_trained_on(shop.app, 4)

    page = await (await shop.client.get("/products/EPD-1")).text()
    shelf = _shelf(page, "together")
    assert TOGETHER_TITLE in shelf
    shown = _shelf_items(shelf)
    assert next(iter(shown)) == "TH-BTHOME"
    assert "bought together" in shown["TH-BTHOME"]
    assert "EPD-1" not in shown and not SOLD_OUT & set(shown)
    assert all(reason.strip() for reason in shown.values())
    other_way = _shelf_items(
        _shelf(await (await shop.client.get("/products/TH-BTHOME")).text(), "together")
    )
    assert next(iter(other_way)) == "EPD-1"


async def test_product_shelf_follows_the_stock_and_skips_unknown_products(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    """The shelf a product page shows every visitor is computed once, but never outlives a
    change of stock: a product sold out leaves it, restocked it comes back."""
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    first = _shelf_items(
        _shelf(await (await shop.client.get("/products/EPD-1")).text(), "together")
    )
    again = _shelf_items(
        _shelf(await (await shop.client.get("/products/EPD-1")).text(), "together")
    )
    assert first and again == first
    leaving = next(iter(first))

    buyer = await new_shopper(aiohttp_client, shop, "all-of-them@example.com")
    for _ in range(3):  # every unit in stock
        await buy(shop, buyer, leaving)
    sold_out = _shelf_items(
        _shelf(await (await shop.client.get("/products/EPD-1")).text(), "together")
    )
    assert sold_out and leaving not in sold_out

    await shop.add_stock(leaving, 1)
    back = _shelf_items(_shelf(await (await shop.client.get("/products/EPD-1")).text(), "together"))
    assert leaving in back

    missing = await shop.client.get("/products/NO-SUCH-THING")
    assert missing.status == 404
    assert _shelf(await missing.text(), "together") == ""


async def test_api_needs_sign_in_and_the_profile_scope(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    owner: dict[str, int] = {}
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server, token_owner=owner)
    response = await shop.client.get("/api/v1/me/recommendations")
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Sign in" in (await response.json())["error"]

    ada = await new_shopper(aiohttp_client, shop, "ada@example.com")
    await buy(shop, ada, "EPD-1")
    assert ada.user_id is not None
    owner["id"] = ada.user_id
    await wait_trained_on(shop.app, 1)

    app_client = await aiohttp_client(shop.client.server)
    response = await app_client.get(
        "/api/v1/me/recommendations", headers={"Authorization": "Bearer tok-devices"}
    )
    assert response.status == 403
    assert "profile" in (await response.json())["error"]
    response = await app_client.get(
        "/api/v1/me/recommendations", headers={"Authorization": "Bearer tok-profile"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["personal"] is True and "EPD-1" not in {i["sku"] for i in body["items"]}
    response = await app_client.get(
        "/api/v1/me/recommendations", headers={"Authorization": "Bearer forged"}
    )
    assert response.status == 401

    document = await (await shop.client.get("/api/v1/openapi.json")).json()
    operation = document["paths"]["/api/v1/me/recommendations"]["get"]
    assert "recommendations" in operation["tags"]


async def test_a_restart_serves_the_saved_model_without_training(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    ada = await new_shopper(aiohttp_client, shop, "ada@example.com")
    await buy(shop, ada, "EPD-1", "TH-BTHOME")
    await wait_trained_on(shop.app, 2)
    before = await (await ada.client.get("/api/v1/me/recommendations")).json()
    await shop.client.close()

    # Same database and data directory; a debounce long enough that a training run
    # could not finish during this test, so anything served comes from the saved file.
    slow = replace(FAST, debounce_seconds=3600.0)
    restarted = await open_shop(
        aiohttp_client,
        replace(cloud_settings),
        sim,
        smtp_server,
        with_webhook=False,
        prepare=prepared(slow),
    )
    recommender = restarted.app[RECOMMENDER]
    assert recommender.service.model is not None
    assert (await log_in(restarted.client, ada.email)).status in (200, 303)
    after = await (await restarted.client.get("/api/v1/me/recommendations")).json()
    assert after == before and after["personal"] is True
    assert recommender.service.trainings == 0
    assert recommender.trained_on is not None and recommender.trained_on.lines == 2


async def test_another_replica_learns_of_an_order_settled_elsewhere(
    aiohttp_client, cloud_settings, sim, smtp_server, tmp_path
):
    shop = await _stocked_shop(aiohttp_client, cloud_settings, sim, smtp_server)
    # A second replica: same database, its own data directory, no webhook of its own.
    replica = await open_shop(
        aiohttp_client,
        replace(cloud_settings, data_dir=tmp_path / "replica"),
        sim,
        smtp_server,
        with_webhook=False,
        prepare=prepared(),
    )
    ada = await new_shopper(aiohttp_client, shop, "ada@example.com")
    await buy(shop, ada, "EPD-1")  # settled by the first replica's webhook
    await wait_trained_on(replica.app, 1)

    assert (await log_in(replica.client, ada.email)).status in (200, 303)
    body = await (await replica.client.get("/api/v1/me/recommendations")).json()
    assert body["personal"] is True
    assert body["items"] and "EPD-1" not in {item["sku"] for item in body["items"]}
