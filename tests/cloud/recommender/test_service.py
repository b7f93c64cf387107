"""Training off the loop (debounced), persistence across restarts, failures keep serving."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from cloud.recommender.records import RecommenderInputError
from cloud.recommender.service import RecommendationService

from .common import KIT_CATALOG, kit_purchases, purchases


async def test_bursts_of_training_requests_collapse_into_one_run_on_the_latest_inputs() -> None:
    service = RecommendationService(debounce_seconds=0.05)
    await service.async_train(kit_purchases(), KIT_CATALOG)
    smaller = KIT_CATALOG[:3]
    models = await asyncio.gather(
        service.async_train(kit_purchases(), KIT_CATALOG),
        service.async_train(kit_purchases(), KIT_CATALOG),
        service.async_train(kit_purchases(), smaller),
    )
    assert service.trainings == 2
    assert models[0] is models[1] is models[2] is service.model
    assert {str(sku) for sku in service.model.items.skus} == {entry.sku for entry in smaller}


async def test_the_first_training_does_not_wait_for_the_debounce() -> None:
    service = RecommendationService(debounce_seconds=60)
    await asyncio.wait_for(service.async_train(kit_purchases(), KIT_CATALOG), timeout=20)
    assert service.trainings == 1


async def test_closing_cancels_a_pending_training() -> None:
    service = RecommendationService(debounce_seconds=60)
    await service.async_train(kit_purchases(), KIT_CATALOG)
    waiting = asyncio.ensure_future(service.async_train(kit_purchases(), KIT_CATALOG[:2]))
    await asyncio.sleep(0.01)
    await service.async_close()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert service.trainings == 1
    assert len(service.model.items) == len(KIT_CATALOG)


async def test_scheduled_training_does_not_block_and_then_serves() -> None:
    service = RecommendationService(debounce_seconds=0.01)
    service.schedule_training(kit_purchases(), KIT_CATALOG, stock={"PRE-1"})
    assert service.recommend("u", owned=["HUB-1"]) == []  # nothing trained yet
    for _ in range(200):
        if service.trainings:
            break
        await asyncio.sleep(0.01)
    assert [r.sku for r in service.recommend("u", owned=["HUB-1"])] == ["PRE-1"]
    await service.async_close()


async def test_a_restart_serves_the_saved_model_immediately(tmp_path: Path) -> None:
    path = tmp_path / "models" / "recommender.npz"
    first = RecommendationService(path, debounce_seconds=0)
    await first.async_train(kit_purchases(), KIT_CATALOG)
    before = first.recommend("u", owned=["HUB-1"], k=5)

    restarted = RecommendationService(path, debounce_seconds=0)
    assert await restarted.async_load()
    assert restarted.trainings == 0
    assert restarted.recommend("u", owned=["HUB-1"], k=5) == before
    assert restarted.often_bought_together("HUB-1") == first.often_bought_together("HUB-1")
    assert restarted.model.weights == first.model.weights


async def test_an_unreadable_model_file_is_ignored_not_fatal(tmp_path: Path) -> None:
    path = tmp_path / "recommender.npz"
    path.write_bytes(b"not a model")
    service = RecommendationService(path, debounce_seconds=0)
    assert not await service.async_load()
    assert service.recommend("u", owned=[]) == []
    # Training afterwards replaces the bad file with a good one.
    await service.async_train(kit_purchases(), KIT_CATALOG)
    assert await RecommendationService(path).async_load()


async def test_missing_model_file_means_nothing_loaded(tmp_path: Path) -> None:
    assert not await RecommendationService(tmp_path / "absent.npz").async_load()


async def test_failed_training_reports_and_keeps_the_last_model(tmp_path: Path) -> None:
    service = RecommendationService(tmp_path / "model.npz", debounce_seconds=0)
    await service.async_train(kit_purchases(), KIT_CATALOG)
    serving = service.recommend("u", owned=["HUB-1"])
    broken_catalog = [{"name": "a product without a sku"}]
    with pytest.raises(RecommenderInputError, match="without a sku"):
        await service.async_train(kit_purchases(), broken_catalog)
    assert service.recommend("u", owned=["HUB-1"]) == serving
    assert service.trainings == 1


async def test_purchases_of_unknown_products_are_dropped_not_fatal() -> None:
    service = RecommendationService(debounce_seconds=0)
    history = [*kit_purchases(), *purchases(("kit-0", "GONE-1"), ("x", "GONE-1"))]
    model = await service.async_train(history, KIT_CATALOG)
    assert model.purchases == len(kit_purchases())


async def test_naive_purchase_times_are_refused() -> None:
    from datetime import datetime

    from cloud.recommender.records import Purchase

    service = RecommendationService(debounce_seconds=0)
    naive = [Purchase("u", "HUB-1", datetime(2026, 1, 1))]
    with pytest.raises(RecommenderInputError, match="naive timestamp"):
        await service.async_train(naive, KIT_CATALOG)


async def test_purchases_as_a_dataframe_with_numeric_user_ids() -> None:
    import pandas as pd

    from .common import START

    rows = []
    for user in range(1, 13):  # 1..12: numeric and text order differ ("10" < "2")
        pair = ("HUB-1", "PRE-1") if user % 2 else ("BLB-1", "SEN-1")
        rows += [(user, sku, START + pd.Timedelta(days=day)) for day, sku in enumerate(pair)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    service = RecommendationService(debounce_seconds=0)
    await service.async_train(frame, KIT_CATALOG)
    assert service.recommend("13", owned=["HUB-1"], k=1)[0].sku == "PRE-1"
    assert service.recommend("14", owned=["BLB-1"], k=1)[0].sku == "SEN-1"


async def test_purchases_frame_without_a_column_is_refused() -> None:
    import pandas as pd

    service = RecommendationService(debounce_seconds=0)
    frame = pd.DataFrame({"user_id": ["u"], "sku": ["HUB-1"]})
    with pytest.raises(RecommenderInputError, match=r"missing column\(s\) item_id, timestamp"):
        await service.async_train(frame, KIT_CATALOG)


async def test_a_model_file_from_another_format_version_is_not_used(tmp_path: Path) -> None:
    import json

    import numpy as np

    path = tmp_path / "recommender.npz"
    with path.open("wb") as stream:
        np.savez(stream, header=np.array(json.dumps({"format": "ethos-recommender/0"})))
    service = RecommendationService(path)
    assert not await service.async_load()
    assert service.model is None


async def test_training_can_run_in_a_separate_process(tmp_path: Path) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        service = RecommendationService(tmp_path / "model.npz", debounce_seconds=0, executor=pool)
        await service.async_train(kit_purchases(), KIT_CATALOG)
    assert [r.sku for r in service.recommend("u", owned=["HUB-1"], k=2)] == ["PRE-1", "PLG-1"]
    assert (tmp_path / "model.npz").exists()
