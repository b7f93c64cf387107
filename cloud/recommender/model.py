"""The trained recommender: fitted item-side arrays plus blend weights; serves from memory."""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from . import signals
from .const import (
    COLD_START_POPULARITY_SHARE,
    COLLABORATIVE_MAX_ITEMS,
    COLLABORATIVE_MIN_SUPPORT,
    EASE_L2,
    MAX_PER_CATEGORY,
    USERS_PER_CHUNK,
)
from .items import ItemTable
from .ranking import top_k
from .reasons import explain, explain_together
from .records import INTERACTION_COLUMNS, Recommendation, require_columns

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class BlendWeights:
    """How the per-user signals add up; collaborative is the scale reference (1.0).

    Training tunes these on the store's own purchases (:mod:`cloud.recommender.tuning`).
    The defaults, used while a store has too few repeat buyers to tune on, are what tuning
    picked on the store-sized synthetic log of ``benchmarks/recommender_serving.py``
    (10,000 users, 500 items).
    """

    collaborative: float = 1.0
    popularity: float = 0.4
    content: float = 0.0
    preference: float = 0.5
    ethics: float = 0.1

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class Signals:
    """Every signal for a batch of users, before blending."""

    collaborative: np.ndarray  # (users, n)
    content: np.ndarray  # (users, n)
    preference: np.ndarray  # (users, n)
    user_preferences: np.ndarray  # (users, 3)
    popularity: np.ndarray  # (n,)
    ethics: np.ndarray  # (n,)
    cold: np.ndarray  # (users,)

    def blend(self, weights: BlendWeights) -> np.ndarray:
        scores = (
            weights.collaborative * self.collaborative
            + weights.content * self.content
            + weights.preference * self.preference
            + weights.popularity * self.popularity
            + weights.ethics * self.ethics
        )
        # Cold start: nothing personal is known, so ethics first, popularity second.
        cold_scores = self.ethics + COLD_START_POPULARITY_SHARE * self.popularity
        return np.where(self.cold[:, None], cold_scores, scores).astype(np.float32)


@dataclass(frozen=True)
class RecommenderModel:
    """Item-side state learned from purchases; users are described by what they own."""

    items: ItemTable
    covered: np.ndarray  # item indices the collaborative model covers
    item_weights: np.ndarray  # (m, m) EASE weights over ``covered``
    bought_together: np.ndarray  # (m, m) bool: someone bought both
    popularity: np.ndarray  # (n,)
    weights: BlendWeights = field(default_factory=BlendWeights)
    purchases: int = 0

    @classmethod
    def fit(
        cls, interactions: pd.DataFrame, items: ItemTable, weights: BlendWeights | None = None
    ) -> RecommenderModel:
        """Fit on ``user_id, item_id, timestamp`` rows; items unknown to ``items`` are dropped."""
        require_columns(interactions, INTERACTION_COLUMNS, "purchases")
        index = items.index
        known = interactions["item_id"].astype(str).isin(index.keys())
        if not known.all():
            _LOGGER.warning("ignoring %s purchases of items not in the catalog", (~known).sum())
        _users, sequences = user_sequences(interactions[known], index)
        bought = signals.bought_matrix(sequences, len(items))
        covered, item_weights, bought_together = signals.fit_ease(
            bought, EASE_L2, COLLABORATIVE_MIN_SUPPORT, COLLABORATIVE_MAX_ITEMS
        )
        return cls(
            items=items,
            covered=covered,
            item_weights=item_weights,
            bought_together=bought_together,
            popularity=signals.popularity(bought),
            weights=weights or BlendWeights(),
            purchases=int(known.sum()),
        )

    def signals_for(self, sequences: Sequence[np.ndarray]) -> Signals:
        history = signals.History.from_sequences(sequences, len(self.items))
        user_preferences = signals.preferences(history, self.items)
        return Signals(
            collaborative=signals.collaborative(history, self.covered, self.item_weights),
            content=signals.content(history, self.items),
            preference=signals.preference_match(user_preferences, self.items),
            user_preferences=user_preferences,
            popularity=self.popularity,
            ethics=self.items.mean_ethics,
            cold=history.cold,
        )

    def rank(
        self,
        sequences: Sequence[np.ndarray],
        k: int,
        available: np.ndarray | None = None,
        weights: BlendWeights | None = None,
    ) -> np.ndarray:
        """(users, k) best item indices per user, owned items excluded, category-capped."""
        out = []
        for start in range(0, len(sequences), USERS_PER_CHUNK):
            chunk = sequences[start : start + USERS_PER_CHUNK]
            scores = self.signals_for(chunk).blend(weights or self.weights)
            excluded = owned_mask(chunk, len(self.items))
            if available is not None:
                excluded |= ~available
            out.append(top_k(scores, excluded, self.items.category_codes, k, MAX_PER_CATEGORY))
        return np.vstack(out) if out else np.zeros((0, k), dtype=np.int64)

    def recommend(
        self, owned: Sequence[str], in_stock: Collection[str] | None, k: int
    ) -> list[Recommendation]:
        """Top ``k`` for someone owning ``owned`` (oldest first), each with a reason."""
        if k < 1 or not len(self.items):
            return []
        index = self.items.index
        sequence = np.array([index[sku] for sku in owned if sku in index], dtype=np.int64)
        found = self.signals_for([sequence])
        scores = found.blend(self.weights)
        excluded = owned_mask([sequence], len(self.items)) | ~self.available(in_stock)
        chosen = top_k(scores, excluded, self.items.category_codes, k, MAX_PER_CATEGORY)[0]
        chosen = chosen[chosen >= 0]
        reasons = explain(self, found, sequence, chosen)
        return [
            Recommendation(
                sku=str(self.items.skus[item]), score=float(scores[0, item]), reason=reason
            )
            for item, reason in zip(chosen.tolist(), reasons, strict=True)
        ]

    def often_bought_together(
        self, sku: str, in_stock: Collection[str] | None, k: int
    ) -> list[Recommendation]:
        """Items most often bought with ``sku`` (collaborative), then the most similar."""
        index = self.items.index
        if k < 1 or sku not in index:
            return []
        item = index[sku]
        together = np.zeros(len(self.items), dtype=np.float32)
        position = self.covered_position[item]
        if position >= 0:
            strength = self.item_weights[position]
            together[self.covered] = np.where(self.bought_together[position], strength, 0.0)
        similar = self.items.features @ self.items.features[item]
        # Co-purchases first (by EASE weight); similarity (<= 1) orders the rest.
        scores = (np.where(together > 0, 2.0 + together, 0.0) + similar)[None, :]
        excluded = ~self.available(in_stock) | (scores[0] <= 0)  # unrelated: not shown
        excluded[item] = True
        chosen = top_k(scores, excluded[None, :], self.items.category_codes, k, None)[0]
        return [
            Recommendation(
                sku=str(self.items.skus[other]),
                score=float(scores[0, other]),
                reason=explain_together(self, item, bool(together[other] > 0)),
            )
            for other in chosen
            if other >= 0
        ]

    def available(self, in_stock: Collection[str] | None) -> np.ndarray:
        """(n,) True for items that may be recommended (all when stock is not given)."""
        if in_stock is None:
            return np.ones(len(self.items), dtype=bool)
        last = self.__dict__.get("_last_stock")
        if last is not None and last[0] is in_stock:
            return last[1].copy()
        index = self.items.index
        mask = np.zeros(len(self.items), dtype=bool)
        mask[[index[sku] for sku in in_stock if sku in index]] = True
        if isinstance(in_stock, frozenset):
            # The service passes the same immutable stock set on every request until the
            # stock changes: remember its mask (a frozen dataclass, hence __dict__).
            self.__dict__["_last_stock"] = (in_stock, mask.copy())
        return mask

    @cached_property
    def covered_position(self) -> np.ndarray:
        """(n,) each item's row in ``item_weights``, -1 when the collaborative model lacks it."""
        position = np.full(len(self.items), -1, dtype=np.int64)
        position[self.covered] = np.arange(len(self.covered))
        return position


def user_sequences(
    interactions: pd.DataFrame, index: dict[str, int]
) -> tuple[list[str], list[np.ndarray]]:
    """Per user (sorted by id), the known item indices bought, oldest first."""
    frame = interactions[["user_id", "item_id", "timestamp"]].copy()
    frame["user_id"] = frame["user_id"].astype(str)  # sort as the ids are returned
    frame["item"] = frame["item_id"].astype(str).map(index)
    frame = frame.dropna(subset=["item"])
    if frame.empty:
        return [], []
    frame = frame.sort_values(["user_id", "timestamp"], kind="stable")
    users, starts = np.unique(frame["user_id"].to_numpy(dtype=str), return_index=True)
    sequences = np.split(frame["item"].to_numpy(dtype=np.int64), starts[1:])
    return [str(user) for user in users], sequences


def owned_mask(sequences: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    mask = np.zeros((len(sequences), n_items), dtype=bool)
    for row, sequence in enumerate(sequences):
        mask[row, sequence] = True
    return mask
