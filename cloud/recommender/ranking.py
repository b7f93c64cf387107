"""Turning scores into top-k lists under the serving rules (exclusions, category cap)."""

from __future__ import annotations

from functools import cache

import numpy as np

from .const import CANDIDATES_PER_SLOT


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
    category are already in the list; only when no other allowed item is left do the
    best passed-over items fill the list. Ties go to the lower item index.
    """
    users, n_items = scores.shape
    result = np.full((users, k), -1, dtype=np.int64)
    if n_items == 0 or k == 0 or users == 0:
        return result
    masked = np.where(excluded, -np.inf, scores)
    width = min(n_items, k * CANDIDATES_PER_SLOT if max_per_category else k)
    picked, short = _select(masked, category_codes, k, max_per_category, width)
    result[:, : picked.shape[1]] = picked
    if max_per_category is not None and width < n_items and short.any():
        # The cap passed over too much among the first candidates: look further, then
        # (rarely) at everything.
        rows = np.flatnonzero(short)
        wider = min(n_items, width * 8)
        picked, still_short = _select(masked[rows], category_codes, k, max_per_category, wider)
        result[rows, : picked.shape[1]] = picked
        for row in rows[still_short] if wider < n_items else ():
            result[row] = _greedy(masked[row], category_codes, k, max_per_category)
    return result


@cache
def _strictly_lower(width: int) -> np.ndarray:
    """(width, width) True where the column ranks before the row."""
    lower = np.tril(np.ones((width, width), dtype=bool), k=-1)
    lower.flags.writeable = False
    return lower


def _greedy(masked: np.ndarray, codes: np.ndarray, k: int, cap: int) -> np.ndarray:
    """The same rule as :func:`_select`, one row, over the whole catalog."""
    chosen: list[int] = []
    passed_over: list[int] = []
    taken: dict[int, int] = {}
    for item in np.lexsort((np.arange(len(masked)), -masked)).tolist():
        if not np.isfinite(masked[item]) or len(chosen) == k:
            break
        code = int(codes[item])
        if code >= 0 and taken.get(code, 0) >= cap:
            passed_over.append(item)
            continue
        taken[code] = taken.get(code, 0) + 1
        chosen.append(item)
    chosen += passed_over[: k - len(chosen)]
    row = np.full(k, -1, dtype=np.int64)
    row[: len(chosen)] = chosen
    return row


def _select(
    masked: np.ndarray, codes_by_item: np.ndarray, k: int, cap: int | None, width: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pick from each row's ``width`` best; also say which rows had to relax the cap."""
    candidates = np.argpartition(-masked, width - 1, axis=1)[:, :width]
    candidate_scores = np.take_along_axis(masked, candidates, axis=1)
    order = np.lexsort((candidates, -candidate_scores), axis=1)
    ranked = np.take_along_axis(candidates, order, axis=1)
    allowed = np.isfinite(np.take_along_axis(candidate_scores, order, axis=1))

    position = np.broadcast_to(np.arange(width), ranked.shape)
    priority = np.where(allowed, position, 2 * width + position)
    if cap is not None:
        codes = codes_by_item[ranked]
        # How many better-ranked allowed candidates share this candidate's category.
        same = (codes[:, :, None] == codes[:, None, :]) & allowed[:, None, :]
        better = _strictly_lower(width)
        ahead = (same & better).sum(axis=2)
        passed_over = (codes >= 0) & (ahead >= cap) & allowed
        priority = np.where(passed_over, width + position, priority)
    chosen = np.argsort(priority, axis=1, kind="stable")[:, : min(k, width)]
    picked = np.take_along_axis(ranked, chosen, axis=1)
    chosen_priority = np.take_along_axis(priority, chosen, axis=1)
    short = ((chosen_priority >= width) & (chosen_priority < 2 * width)).any(axis=1)
    return np.where(chosen_priority < 2 * width, picked, -1), np.asarray(short)
