"""The recommender on the store's real catalog files (cloud/catalog/data)."""

from __future__ import annotations

from cloud.catalog.loader import load_catalog
from cloud.recommender.service import RecommendationService

from .common import purchases


def store_catalog() -> list[dict]:
    return [product.model_dump() for product in load_catalog().products]


async def test_a_store_without_purchases_recommends_its_most_ethical_products() -> None:
    products = load_catalog().products
    means = {product.sku: product.scores.mean for product in products}
    service = RecommendationService(debounce_seconds=0)
    await service.async_train([], store_catalog())
    recommended = service.recommend("first-customer", owned=[], k=5)
    assert len(recommended) == 5
    assert means[recommended[0].sku] == max(means.values())
    assert all(r.reason.startswith("rated ") for r in recommended)  # nothing sold yet


async def test_co_purchases_of_store_products_drive_recommendations() -> None:
    catalog = store_catalog()
    by_category: dict[str, list[str]] = {}
    for entry in catalog:
        by_category.setdefault(entry["category"], []).append(entry["sku"])
    presence, plug = by_category["presence"][0], by_category["plug"][-1]
    history = purchases(*[(f"u{n}", sku) for n in range(6) for sku in (presence, plug)])
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(history, catalog)
    first = service.recommend("u-new", owned=[presence], k=3)[0]
    name = next(entry["name"] for entry in catalog if entry["sku"] == presence)
    assert first.sku == plug
    assert first.reason == f"because you bought the {name}"
    assert [r.sku for r in service.often_bought_together(presence, k=1)] == [plug]
