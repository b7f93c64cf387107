"""The recommender as a long-lived service for the cloud: trains off the event loop
(debounced), persists each model, and answers from memory.

Typical use by the web layer::

    service = RecommendationService(model_path)
    await service.async_load()                       # serve the last model at once
    await service.async_train(purchases, catalog, stock)   # at start-up
    service.schedule_training(purchases, catalog, stock)   # after each settled order
    service.recommend(user_id, owned_skus, in_stock_skus, k=10)
    service.often_bought_together(sku, k=4, in_stock=in_stock_skus)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from ethos.tasks import async_cancel_and_wait

from .const import DEFAULT_K, TRAINING_DEBOUNCE_SECONDS
from .model import RecommenderModel
from .persistence import ModelFileError, load_model
from .records import CatalogItem, Purchase, Recommendation, items_frame, purchases_frame
from .training import train_model

_LOGGER = logging.getLogger(__name__)

PurchasesInput: TypeAlias = pd.DataFrame | Iterable[Purchase]
CatalogInput: TypeAlias = pd.DataFrame | Iterable[CatalogItem | Mapping[str, Any]]


@dataclass(frozen=True)
class _TrainingRequest:
    purchases: PurchasesInput
    catalog: CatalogInput
    stock: frozenset[str] | None


class RecommendationService:
    """Holds the current model; every method except the ``async_`` ones is loop-safe and fast."""

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        debounce_seconds: float = TRAINING_DEBOUNCE_SECONDS,
        k: int = DEFAULT_K,
        executor: Executor | None = None,
    ) -> None:
        """``executor``: where training runs; the loop's default thread pool if None. A
        one-worker ``ProcessPoolExecutor`` (spawn) keeps the GIL, hence the event loop,
        free during training, at the cost of a second process."""
        self._model_path = model_path
        self._executor = executor
        self._debounce_seconds = debounce_seconds
        self._k = k
        self._model: RecommenderModel | None = None
        self._in_stock: frozenset[str] | None = None
        self._pending: _TrainingRequest | None = None
        self._waiters: list[asyncio.Future[RecommenderModel]] = []
        self._task: asyncio.Task[None] | None = None
        self.trainings = 0  # completed training runs, for status pages and tests
        # When the serving model was trained (its file's time when loaded), for /metrics.
        self.model_trained_at: float | None = None

    @property
    def model(self) -> RecommenderModel | None:
        return self._model

    async def async_load(self) -> bool:
        """Load the persisted model (in an executor); False when there is none usable."""
        if self._model_path is None or not self._model_path.exists():
            return False
        try:
            model = await asyncio.get_running_loop().run_in_executor(
                None, load_model, self._model_path
            )
        except ModelFileError as err:
            _LOGGER.warning("not using the saved recommender model: %s", err)
            return False
        self._model = model
        self.model_trained_at = self._model_path.stat().st_mtime
        return True

    async def async_train(
        self,
        purchases: PurchasesInput,
        catalog: CatalogInput,
        stock: Collection[str] | None = None,
    ) -> RecommenderModel:
        """Train on these inputs and return the model once it serves.

        Calls within the debounce window (and calls made while a run is going) collapse
        into one run on the latest inputs; every caller gets that run's model. While no
        model is serving yet there is no debounce wait.
        """
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self.schedule_training(purchases, catalog, stock)
        return await waiter

    def schedule_training(
        self,
        purchases: PurchasesInput,
        catalog: CatalogInput,
        stock: Collection[str] | None = None,
    ) -> None:
        """Ask for a (debounced) training run without waiting; call from the event loop."""
        purchases = purchases if isinstance(purchases, pd.DataFrame) else list(purchases)
        catalog = catalog if isinstance(catalog, pd.DataFrame) else list(catalog)
        self._pending = _TrainingRequest(
            purchases, catalog, frozenset(stock) if stock is not None else None
        )
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._async_run_trainings())

    async def _async_run_trainings(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending is not None:
            if self._model is not None:
                # Something is serving, so let a burst of orders settle into one run;
                # with nothing to serve yet (first start), train at once.
                await asyncio.sleep(self._debounce_seconds)
            request, waiters = self._pending, self._waiters
            self._pending, self._waiters = None, []
            try:
                model = await loop.run_in_executor(
                    self._executor, _train_blocking, request, self._model_path, self._k
                )
            except Exception as err:
                _LOGGER.exception("recommender training failed; still serving the last model")
                _settle(waiters, error=err)
                continue
            self._model, self._in_stock = model, request.stock
            self.model_trained_at = time.time()
            self.trainings += 1
            _settle(waiters, model=model)

    def update_stock(self, in_stock: Collection[str]) -> None:
        """Set what is in stock now (used when ``recommend`` is not given ``in_stock``)."""
        self._in_stock = frozenset(in_stock)

    def recommend(
        self,
        user_id: str,
        owned: Sequence[str],
        in_stock: Collection[str] | None = None,
        k: int | None = None,
    ) -> list[Recommendation]:
        """Recommendations for a user who owns ``owned`` (SKUs, oldest purchase first).

        Owned and out-of-stock items are never returned; no purchases means cold start
        (ethics first, then popularity). Empty before any model exists.
        """
        if self._model is None:
            _LOGGER.debug("no recommender model yet; nothing for user %s", user_id)
            return []
        stock = in_stock if in_stock is not None else self._in_stock
        return self._model.recommend(owned, stock, k or self._k)

    def often_bought_together(
        self, sku: str, k: int = 4, in_stock: Collection[str] | None = None
    ) -> list[Recommendation]:
        """Products most often bought with ``sku``, for its product page."""
        if self._model is None:
            return []
        stock = in_stock if in_stock is not None else self._in_stock
        return self._model.often_bought_together(sku, stock, k)

    async def async_close(self) -> None:
        """Stop a pending or running training (the executor thread finishes on its own)."""
        await async_cancel_and_wait(self._task)
        for waiter in self._waiters:
            waiter.cancel()
        self._waiters = []


def _train_blocking(request: _TrainingRequest, model_path: Path | None, k: int) -> RecommenderModel:
    purchases = request.purchases
    if not isinstance(purchases, pd.DataFrame):
        purchases = purchases_frame(purchases)
    catalog = request.catalog
    if not isinstance(catalog, pd.DataFrame):
        catalog = items_frame(
            entry if isinstance(entry, CatalogItem) else CatalogItem.from_catalog_entry(entry)
            for entry in catalog
        )
    return train_model(purchases, catalog, model_path, k)


def _settle(
    waiters: list[asyncio.Future[RecommenderModel]],
    model: RecommenderModel | None = None,
    error: BaseException | None = None,
) -> None:
    for waiter in waiters:
        if waiter.done():
            continue
        if error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(model)  # type: ignore[arg-type]
