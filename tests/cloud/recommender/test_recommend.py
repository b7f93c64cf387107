"""Serving rules, through the service the cloud will use."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloud.recommender.records import CatalogItem
from cloud.recommender.service import RecommendationService

from .common import KIT_CATALOG, catalog_entry, item, kit_purchases, purchases


@pytest.fixture
async def service(tmp_path: Path) -> RecommendationService:
    service = RecommendationService(tmp_path / "model.npz", debounce_seconds=0)
    await service.async_train(kit_purchases(), KIT_CATALOG)
    yield service
    await service.async_close()


async def test_bought_together_comes_first_with_its_reason(service: RecommendationService) -> None:
    recommended = service.recommend("new-kit", owned=["HUB-1"])
    assert [r.sku for r in recommended[:2]] == ["PRE-1", "PLG-1"]
    assert recommended[0].reason == "because you bought the hub HUB-1"


async def test_owned_items_are_never_recommended(service: RecommendationService) -> None:
    owned = ["HUB-1", "PRE-1", "PLG-1"]
    recommended = {r.sku for r in service.recommend("kit-0", owned=owned, k=10)}
    assert recommended == {"BLB-1", "BLB-2", "SEN-1"}


async def test_out_of_stock_items_are_never_recommended(service: RecommendationService) -> None:
    in_stock = {"HUB-1", "PLG-1", "BLB-1"}
    recommended = [r.sku for r in service.recommend("x", owned=["HUB-1"], in_stock=in_stock)]
    assert recommended == ["PLG-1", "BLB-1"]
    # Stock given at training or later is the default when a request does not say.
    service.update_stock({"SEN-1"})
    assert [r.sku for r in service.recommend("x", owned=["HUB-1"])] == ["SEN-1"]


async def test_every_recommendation_has_a_short_reason(service: RecommendationService) -> None:
    for owned in ([], ["HUB-1"], ["BLB-2"], ["SEN-1", "BLB-2"]):
        for recommendation in service.recommend("u", owned=owned, k=10):
            assert 5 < len(recommendation.reason) <= 80, recommendation


async def test_cold_start_is_ethics_first_then_popular(tmp_path: Path) -> None:
    catalog = [
        item("BEST-RARE", "plug", 10, 10, 10),
        item("GOOD-POPULAR", "plug", 8, 8, 8),
        item("GOOD-RARE", "bulb", 8, 8, 8),
        item("POOR-POPULAR", "bulb", 1, 2, 1),
    ]
    history = purchases(
        *[(f"u{n}", "POOR-POPULAR") for n in range(20)],
        *[(f"v{n}", "GOOD-POPULAR") for n in range(5)],
        ("w", "BEST-RARE"),
    )
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(history, catalog)
    recommended = service.recommend("newcomer", owned=[], k=4)
    assert [r.sku for r in recommended] == [
        "BEST-RARE",
        "GOOD-POPULAR",
        "GOOD-RARE",
        "POOR-POPULAR",
    ]
    assert recommended[0].reason == "popular, with privacy 10/10"


async def test_no_category_fills_more_than_three_of_a_top_ten(tmp_path: Path) -> None:
    # Bulbs have the best scores, so without the cap a cold-start top 10 would be bulbs.
    catalog = [item(f"BLB-{n}", "bulb", 10, 10, 10) for n in range(6)]
    for category in ("plug", "sensor", "hub"):
        catalog += [item(f"{category}-{n}", category, 5, 5, 5) for n in range(4)]
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(purchases(("u", "BLB-0")), catalog)
    recommended = service.recommend("newcomer", owned=[], k=10)
    categories = [sku.split("-")[0] for sku in (r.sku for r in recommended)]
    assert len(recommended) == 10
    assert max(categories.count(name) for name in set(categories)) == 3
    assert categories[:3] == ["BLB", "BLB", "BLB"]


async def test_catalog_change_forgets_removed_items(service: RecommendationService) -> None:
    without_presence = [entry for entry in KIT_CATALOG if entry.sku != "PRE-1"]
    await service.async_train(kit_purchases(), without_presence)
    assert "PRE-1" not in {r.sku for r in service.recommend("u", owned=["HUB-1"], k=10)}
    assert service.often_bought_together("PRE-1") == []
    # Owning a product that left the catalog is not an error.
    assert [r.sku for r in service.recommend("kit-0", owned=["PRE-1", "HUB-1"], k=1)] == ["PLG-1"]


async def test_often_bought_together(service: RecommendationService) -> None:
    together = service.often_bought_together("HUB-1", k=2)
    assert [r.sku for r in together] == ["PRE-1", "PLG-1"]
    assert together[0].reason == "often bought together with hub HUB-1"
    assert "HUB-1" not in {r.sku for r in service.often_bought_together("HUB-1", k=10)}
    assert service.often_bought_together("NO-SUCH-SKU") == []


async def test_accepts_store_catalog_entries(tmp_path: Path) -> None:
    catalog = [catalog_entry("EPD-1", "presence", 9, 9, 8), catalog_entry("PLG-9", "plug", 4, 3, 5)]
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(purchases(("u", "EPD-1")), catalog)
    assert [r.sku for r in service.recommend("u", owned=["EPD-1"])] == ["PLG-9"]
    assert CatalogItem.from_catalog_entry(catalog[0]).scores == (9.0, 9.0, 8.0)


async def test_a_list_length_below_one_gives_an_empty_list(service: RecommendationService) -> None:
    assert service.recommend("u", owned=["HUB-1"], k=-3) == []
    assert service.often_bought_together("HUB-1", k=0) == []


async def test_no_model_yet_means_no_recommendations() -> None:
    service = RecommendationService(debounce_seconds=0)
    assert service.recommend("u", owned=["HUB-1"]) == []
    assert service.often_bought_together("HUB-1") == []


async def test_an_empty_catalog_trains_and_recommends_nothing() -> None:
    service = RecommendationService(debounce_seconds=0)
    model = await service.async_train([], [])
    assert len(model.items) == 0
    assert service.recommend("u", owned=["HUB-1"]) == []
    assert service.often_bought_together("HUB-1") == []


async def test_reasons_never_call_an_unsold_product_popular() -> None:
    catalog = [item("SOLD", "plug", 5, 5, 5), item("UNSOLD", "bulb", 9, 7, 3)]
    catalog.append(CatalogItem("BARE", category="hub"))
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(purchases(("u", "SOLD")), catalog)
    reasons = {r.sku: r.reason for r in service.recommend("new", owned=[], k=3)}
    assert reasons == {
        "UNSOLD": "rated privacy 9/10",
        "SOLD": "popular, with privacy 5/10",
        "BARE": "new in the store",
    }
