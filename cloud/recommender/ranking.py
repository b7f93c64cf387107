"""Turning scores into top-k lists under the serving rules (exclusions, category cap)."""

from __future__ import annotations

import numpy as np

# Candidates examined per slot before the category cap gives up and relaxes.
_CANDIDATES_PER_SLOT = 5


def top_k(
    scores: np.ndarray,
    excluded: np.ndarray,
    categories: np.ndarray,
    k: int,
    max_per_category: int | None,
) -> np.ndarray:
    """(users, k) item indices, best first, -1 where fewer than k items are allowed.

    ``excluded`` (users, n) marks items never to return (owned, out of stock). With
    ``max_per_category``, no more than that many items of one known category are taken
    while items of other categories remain among the candidates; if the cap would leave
    the list short, the best capped-out items fill it.
    """
    users, n_items = scores.shape
    masked = np.where(excluded, -np.inf, scores)
    width = min(n_items, k * _CANDIDATES_PER_SLOT if max_per_category else k)
    result = np.full((users, k), -1, dtype=np.int64)
    if width == 0 or k == 0:
        return result
    candidates = np.argpartition(-masked, width - 1, axis=1)[:, :width]
    candidate_scores = np.take_along_axis(masked, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    ranked = np.take_along_axis(candidates, order, axis=1)
    ranked_scores = np.take_along_axis(candidate_scores, order, axis=1)
    for user in range(users):
        allowed = ranked[user][np.isfinite(ranked_scores[user])]
        chosen = _capped(allowed, categories, k, max_per_category)
        result[user, : len(chosen)] = chosen
    return result


def _capped(ranked: np.ndarray, categories: np.ndarray, k: int, cap: int | None) -> list[int]:
    if cap is None:
        return ranked[:k].tolist()
    chosen: list[int] = []
    skipped: list[int] = []
    per_category: dict[str, int] = {}
    for item in ranked.tolist():
        category = categories[item]
        if category and per_category.get(category, 0) >= cap:
            skipped.append(item)
            continue
        per_category[category] = per_category.get(category, 0) + 1
        chosen.append(item)
        if len(chosen) == k:
            return chosen
    return chosen + skipped[: k - len(chosen)]
