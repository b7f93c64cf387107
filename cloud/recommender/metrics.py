"""Offline ranking metrics for leave-one-out evaluation (one held-out item per user).

``ranked`` is a (users, k) array of item indices, best first, padded with -1;
``held_out`` is each user's held-out item index.
"""

from __future__ import annotations

import numpy as np


def hit_ranks(ranked: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """(users,) 0-based position of the held-out item in the list, -1 when absent."""
    matches = ranked == np.asarray(held_out)[:, None]
    return np.where(matches.any(axis=1), matches.argmax(axis=1), -1)


def hit_rate(ranked: np.ndarray, held_out: np.ndarray) -> float:
    """HR@k: share of users whose held-out item is in their top k."""
    if not len(ranked):
        return float("nan")
    return float((hit_ranks(ranked, held_out) >= 0).mean())


def ndcg(ranked: np.ndarray, held_out: np.ndarray) -> float:
    """NDCG@k with one relevant item: 1 / log2(position + 2) when found, else 0."""
    if not len(ranked):
        return float("nan")
    positions = hit_ranks(ranked, held_out)
    gains = np.where(positions >= 0, 1.0 / np.log2(np.maximum(positions, 0) + 2.0), 0.0)
    return float(gains.mean())


def coverage(ranked: np.ndarray, n_items: int) -> float:
    """Share of the catalog that appears in at least one user's top k."""
    if n_items == 0:
        return float("nan")
    shown = np.unique(ranked[ranked >= 0])
    return float(len(shown) / n_items)


def mean_ethics(ranked: np.ndarray, item_ethics: np.ndarray) -> float | None:
    """Mean ethics score (0-10) of the recommended items that are scored; None if none is."""
    shown = ranked[ranked >= 0]
    values = item_ethics[shown]
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None
