"""Turning scores into top-k lists under the serving rules (exclusions, category cap)."""

from __future__ import annotations

import numpy as np

# Candidates examined per slot before the category cap gives up and relaxes.
_CANDIDATES_PER_SLOT = 5


def top_k(
    scores: np.ndarray,
    excluded: np.ndarray,
    category_codes: np.ndarray,
    k: int,
    max_per_category: int | None,
) -> np.ndarray:
    """(users, k) item indices, best first, -1 where fewer than k items are allowed.

    ``excluded`` (users, n) marks items never to return (owned, out of stock).
    ``category_codes`` (n,) numbers each item's category, -1 when unknown. With
    ``max_per_category``, an item is passed over when that many better items of its
    category are already in the list; if that would leave the list short, the best
    passed-over items fill it. Ties go to the lower item index.
    """
    users, n_items = scores.shape
    result = np.full((users, k), -1, dtype=np.int64)
    width = min(n_items, k * _CANDIDATES_PER_SLOT if max_per_category else k)
    if width == 0 or k == 0 or users == 0:
        return result
    masked = np.where(excluded, -np.inf, scores)
    candidates = np.argpartition(-masked, width - 1, axis=1)[:, :width]
    candidate_scores = np.take_along_axis(masked, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    ranked = np.take_along_axis(candidates, order, axis=1)
    allowed = np.isfinite(np.take_along_axis(candidate_scores, order, axis=1))

    position = np.broadcast_to(np.arange(width), ranked.shape)
    priority = np.where(allowed, position, 2 * width + position)
    if max_per_category is not None:
        codes = category_codes[ranked]
        # How many better-ranked allowed candidates share this candidate's category.
        same = (codes[:, :, None] == codes[:, None, :]) & allowed[:, None, :]
        better = np.tril(np.ones((width, width), dtype=bool), k=-1)
        ahead = (same & better).sum(axis=2)
        passed_over = (codes >= 0) & (ahead >= max_per_category) & allowed
        priority = np.where(passed_over, width + position, priority)
    chosen = np.argsort(priority, axis=1, kind="stable")[:, : min(k, width)]
    picked = np.take_along_axis(ranked, chosen, axis=1)
    picked_allowed = np.take_along_axis(allowed, chosen, axis=1)
    result[:, : picked.shape[1]] = np.where(picked_allowed, picked, -1)
    return result
