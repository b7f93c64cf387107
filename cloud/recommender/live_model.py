"""The recommender inside the running store: reads purchases and stock from the database,
keeps each replica's model trained, and serves lists for pages and the API.

Replicas: the model is derived data. Every replica trains its own from the database (or
loads the file it saved last), so nothing depends on which process settled an order. A
settle commits in whichever replica got the webhook or ran the reconciler; every replica
notices it with the same cheap query (`settled_fingerprint`: how many settled purchase
lines, and the latest settle time) polled every `poll_seconds`, and schedules a debounced
training run when the fingerprint moved. A failed query or training is logged and retried
on the next poll; the settle path itself is never involved.

Restart: next to the model file a small JSON file records the fingerprint the model was
trained on; when the database still matches it, the loaded model serves and no training
runs at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from cloud.catalog.loader import Catalog
from cloud.checkout.models import Order, OrderLine
from cloud.checkout.states import OrderStatus
from cloud.db_statements import async_run
from cloud.files import write_bytes_atomically
from cloud.inventory.service import free_units_up_to
from ethos.tasks import async_cancel_and_wait

from . import shared_model
from .model import RecommenderModel
from .records import Purchase, Recommendation
from .service import RecommendationService

_LOGGER = logging.getLogger(__name__)

# Orders whose buyer paid: their lines are purchases (a backorder was paid too).
SETTLED_STATUSES = (OrderStatus.PAID, OrderStatus.BACKORDER)


@dataclass(frozen=True)
class RecommenderOptions:
    """Timing of the store's recommender; tests shorten these."""

    debounce_seconds: float = 30.0  # a burst of settles becomes one training run
    poll_seconds: float = 10.0  # how soon a replica notices orders settled anywhere
    stock_ttl_seconds: float = 2.0  # anonymous pages reuse the stock list this long


@dataclass(frozen=True)
class Fingerprint:
    """What a model was trained on, as far as settled purchases go."""

    lines: int
    latest: str | None  # ISO time of the latest settle

    def as_json(self) -> str:
        return json.dumps({"lines": self.lines, "latest": self.latest})

    @classmethod
    def from_json(cls, text: str) -> Fingerprint | None:
        try:
            raw = json.loads(text)
            return cls(int(raw["lines"]), raw["latest"])
        except (ValueError, KeyError, TypeError):
            return None


async def settled_fingerprint(session: AsyncSession) -> Fingerprint:
    row = (
        await session.execute(
            select(func.count(col(OrderLine.id)), func.max(col(Order.updated_at)))
            .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
            .where(col(Order.status).in_(SETTLED_STATUSES), col(Order.user_id).is_not(None))
        )
    ).one()
    latest: datetime | None = row[1]
    return Fingerprint(int(row[0] or 0), latest.isoformat() if latest else None)


async def settled_purchases(session: AsyncSession) -> list[Purchase]:
    """One purchase per line of every settled order of an account (guest orders skipped
    until an account claims them); the settle time is the order's last status change."""
    rows = await session.execute(
        select(col(Order.user_id), col(OrderLine.sku), col(Order.updated_at))
        .join(OrderLine, col(OrderLine.order_id) == col(Order.id))
        .where(col(Order.status).in_(SETTLED_STATUSES), col(Order.user_id).is_not(None))
        .order_by(col(Order.updated_at), col(Order.id), col(OrderLine.id))
    )
    return [Purchase(str(user_id), sku, settled_at) for user_id, sku, settled_at in rows]


async def purchased_skus(session: AsyncSession, user_id: int) -> list[str]:
    """The user's purchased SKUs, oldest settle first."""
    rows = await session.scalars(
        select(col(OrderLine.sku))
        .join(Order, col(OrderLine.order_id) == col(Order.id))
        .where(col(Order.status).in_(SETTLED_STATUSES), col(Order.user_id) == user_id)
        .order_by(col(Order.updated_at), col(Order.id), col(OrderLine.id))
    )
    return list(rows)


async def in_stock_skus(session: AsyncSession, skus: tuple[str, ...]) -> frozenset[str]:
    """Those of `skus` with a unit neither held for an open invoice nor sold (one index
    entry looked at per SKU, however much is in stock)."""
    if not skus:
        return frozenset()
    row = (await async_run(session, free_units_up_to(skus, 1), {})).first()
    assert row is not None  # one row of counts, always
    return frozenset(sku for sku, free in zip(skus, row, strict=True) if free)


@dataclass(frozen=True)
class Picks:
    personal: bool  # False: the cold-start list
    items: list[Recommendation]


class StoreRecommender:
    """One per app: the service, its training triggers, and cached anonymous lists."""

    def __init__(
        self,
        db: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        model_path: Path,
        options: RecommenderOptions,
        holds_training: Callable[[], bool] | None = None,
    ) -> None:
        self.service = RecommendationService(model_path, debounce_seconds=options.debounce_seconds)
        self._db = db
        self._catalog = catalog
        self._skus = catalog.skus
        self._options = options
        self._fingerprint_path = model_path.with_suffix(".trained.json")
        self._trained: Fingerprint | None = None  # what the serving model covers
        self._requested: Fingerprint | None = None  # what the latest training asked for
        self._stock: tuple[float, frozenset[str]] | None = None
        # Lists every shopper of a page gets (cold start by length, often bought together
        # by product and length), for one model and one stock: computing one costs more
        # than the rest of a product page.
        self._shared_lists: (
            tuple[RecommenderModel, frozenset[str], dict[tuple[str, int], list[Recommendation]]]
            | None
        ) = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._model_path = model_path
        # Whether this replica holds the training lease (alone: always); the others load
        # the model it publishes in the database instead of training their own.
        self._holds_training = holds_training or (lambda: True)
        self._shared_id: int | None = None  # the published model this replica serves

    @property
    def trained_on(self) -> Fingerprint | None:
        """The settled purchases the serving model covers (None: not known)."""
        return self._trained

    async def async_start(self) -> None:
        """Serve the saved model at once if the database still matches it; train otherwise
        (waiting only when there is nothing to serve), then watch for settled orders."""
        loaded = await self.service.async_load()
        if loaded and self._fingerprint_path.exists():
            self._trained = Fingerprint.from_json(self._fingerprint_path.read_text())
        try:
            loaded = await self._async_follow_published() or loaded
        except Exception:  # an unreadable published model: train or serve the file
            _LOGGER.exception("recommender: the published model could not be loaded")
        async with self._db() as session:
            current = await settled_fingerprint(session)
        if not loaded:
            try:
                await self._async_train(current)
            except Exception:
                # The store still opens: lists stay empty and the watcher tries again.
                _LOGGER.exception("recommender: no model at start-up")
        elif current != self._trained and self._holds_training():
            self._schedule(current)
        self._watcher = asyncio.create_task(self._async_watch(), name="recommender-watch")

    async def _async_watch(self) -> None:
        while True:
            await asyncio.sleep(self._options.poll_seconds)
            try:
                await self._async_follow_published()
                if not self._holds_training():
                    continue  # the holder trains; its model arrives through the database
                async with self._db() as session:
                    current = await settled_fingerprint(session)
                if current not in (self._trained, self._requested):
                    self._schedule(current)
            except Exception:
                _LOGGER.exception("recommender: could not check for settled orders")

    def _schedule(self, fingerprint: Fingerprint) -> None:
        self._requested = fingerprint
        task = asyncio.create_task(self._async_train_logged(fingerprint))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _async_train_logged(self, fingerprint: Fingerprint) -> None:
        try:
            await self._async_train(fingerprint)
        except Exception:
            # The service logged the cause; the next poll asks again.
            self._requested = None

    async def _async_train(self, fingerprint: Fingerprint) -> None:
        async with self._db() as session:
            purchases = await settled_purchases(session)
            stock = await in_stock_skus(session, self._skus)
        catalog = [product.model_dump() for product in self._catalog.products]
        await self.service.async_train(purchases, catalog, stock)
        self._stock = (time.monotonic(), stock)
        if self._trained is None or fingerprint.lines >= self._trained.lines:
            self._trained = fingerprint
            await asyncio.get_running_loop().run_in_executor(
                None, write_bytes_atomically, self._fingerprint_path, fingerprint.as_json().encode()
            )
        if self._holds_training():
            await self._async_publish(fingerprint)

    async def _async_publish(self, fingerprint: Fingerprint) -> None:
        """Share the model just trained (saved at the model path) with the other replicas."""
        model = await asyncio.get_running_loop().run_in_executor(None, self._model_path.read_bytes)
        async with self._db() as session, session.begin():
            self._shared_id = await shared_model.async_publish(
                session, fingerprint.as_json(), model
            )
        _LOGGER.info("recommender model %s published (%s)", self._shared_id, fingerprint)

    async def _async_follow_published(self) -> bool:
        """Serve a model another replica published since ours; True when one was loaded."""
        async with self._db() as session:
            latest = await shared_model.async_latest(session)
            if latest is None or latest.id == self._shared_id:
                return False
            model = await shared_model.async_model_bytes(session, latest.id)
        fingerprint = Fingerprint.from_json(latest.fingerprint)
        if model is None or fingerprint is None:
            return False
        if self._trained is not None and fingerprint.lines < self._trained.lines:
            self._shared_id = latest.id  # ours covers more: keep it
            return False
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, write_bytes_atomically, self._model_path, model)
        if not await self.service.async_load():
            return False
        self.service.model_trained_at = latest.trained_at.timestamp()
        self._shared_id, self._trained = latest.id, fingerprint
        await loop.run_in_executor(
            None, write_bytes_atomically, self._fingerprint_path, fingerprint.as_json().encode()
        )
        _LOGGER.info("recommender: serving model %s published by another replica", latest.id)
        return True

    async def async_in_stock(self, fresh: bool) -> frozenset[str]:
        """What is in stock: read now (``fresh``) or reused for ``stock_ttl_seconds``."""
        now = time.monotonic()
        if not fresh and self._stock and now - self._stock[0] < self._options.stock_ttl_seconds:
            return self._stock[1]
        async with self._db() as session:
            stock = await in_stock_skus(session, self._skus)
        self._stock = (now, stock)
        self.service.update_stock(stock)
        return stock

    async def async_for_user(self, user_id: int | None, k: int = 10) -> Picks:
        """Recommendations for an account (owned items excluded), or the cold-start list
        for a visitor or an account without purchases."""
        if user_id is None:
            return Picks(False, self.cold_start(await self.async_in_stock(fresh=False), k))
        async with self._db() as session:
            owned = await purchased_skus(session, user_id)
            stock = await in_stock_skus(session, self._skus)
        self.service.update_stock(stock)
        if not owned:
            return Picks(False, self.cold_start(stock, k))
        return Picks(True, self.service.recommend(str(user_id), owned, in_stock=stock, k=k))

    def cold_start(self, stock: frozenset[str], k: int) -> list[Recommendation]:
        """The list for shoppers without purchases, computed once per model, stock and
        length: the same list object until one changes (callers may cache by identity)."""
        return self._shared_list(
            stock, ("", k), lambda: self.service.recommend("", [], in_stock=stock, k=k)
        )

    async def async_together(self, sku: str, k: int = 4) -> list[Recommendation]:
        """Often bought with `sku`, computed once per model, stock, product and length."""
        if self._catalog.get(sku) is None:
            return []  # cached lists stay bounded by the catalog
        stock = await self.async_in_stock(fresh=False)
        return self._shared_list(
            stock,
            (sku, k),
            lambda: self.service.often_bought_together(sku, k=k, in_stock=stock),
        )

    def _shared_list(
        self,
        stock: frozenset[str],
        key: tuple[str, int],
        compute: Callable[[], list[Recommendation]],
    ) -> list[Recommendation]:
        model = self.service.model
        if model is None:
            return []
        cached = self._shared_lists
        if cached is None or cached[0] is not model or cached[1] != stock:
            cached = self._shared_lists = (model, stock, {})
        lists = cached[2]
        if key not in lists:
            lists[key] = compute()
        return lists[key]

    async def async_close(self) -> None:
        await async_cancel_and_wait(*self._tasks, self._watcher)
        await self.service.async_close()
