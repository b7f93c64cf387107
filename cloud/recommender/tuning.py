"""Choosing the blend weights by offline evaluation rather than by hand.

Protocol: hold out each user's last training purchase (validation), fit on the rest,
compute every signal once, then coordinate ascent over :data:`TUNING_GRID` maximising
validation NDCG@k. Finally the general ethics weight is raised to the largest grid value
that keeps NDCG within :data:`ETHICS_ACCURACY_BUDGET` of the best, and so is the
personal-preference weight: ethics first, at a stated, small price in accuracy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .const import (
    ETHICS_ACCURACY_BUDGET,
    MAX_PER_CATEGORY,
    RANDOM_SEED,
    TUNING_GRID,
    TUNING_MAX_USERS,
    TUNING_MIN_USERS,
    TUNING_ROUNDS,
)
from .holdout import held_out_users, leave_last_out
from .items import ItemTable
from .metrics import ndcg
from .model import BlendWeights, RecommenderModel, owned_mask
from .ranking import top_k

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class TuningResult:
    weights: BlendWeights
    validation_ndcg: float | None  # of the chosen weights; None: too little data to tune
    best_validation_ndcg: float | None  # before spending the ethics budget
    validation_users: int


def tune_weights(
    interactions: pd.DataFrame, items: ItemTable, k: int, seed: int = RANDOM_SEED
) -> TuningResult:
    rest, held = leave_last_out(interactions)
    index = items.index
    held = held[held["item_id"].astype(str).isin(index.keys())]
    if len(held) > TUNING_MAX_USERS:
        held = held.sample(TUNING_MAX_USERS, random_state=seed)
    if len(held) < TUNING_MIN_USERS:
        _LOGGER.info("only %s validation users: keeping the default blend weights", len(held))
        return TuningResult(BlendWeights(), None, None, len(held))
    model = RecommenderModel.fit(rest, items)
    users, sequences, targets = held_out_users(rest, held, index)
    found = model.signals_for(sequences)
    excluded = owned_mask(sequences, len(items))

    def evaluate(weights: BlendWeights) -> float:
        ranked = top_k(found.blend(weights), excluded, items.category_codes, k, MAX_PER_CATEGORY)
        return ndcg(ranked, targets)

    scored = not np.isnan(items.ethics).all()
    best = BlendWeights(popularity=0.0, content=0.0, preference=0.0, ethics=0.0)
    best_score = evaluate(best)
    # Ethics-driven signals are flat without scores; tuning them would only add noise.
    tunable = {
        name: grid
        for name, grid in TUNING_GRID.items()
        if scored or name not in ("preference", "ethics")
    }
    for _round in range(TUNING_ROUNDS):
        start_of_round = best
        for name, grid in tunable.items():
            for value in grid:
                if value == getattr(best, name):
                    continue
                candidate = replace(best, **{name: value})
                score = evaluate(candidate)
                if score > best_score + 1e-12:
                    best, best_score = candidate, score
        if best == start_of_round:
            break  # a full round changed nothing: more rounds would not either
    # Ethics first, within budget: the personal preference, then the general ethics weight,
    # go to the largest grid value whose NDCG stays within the budget of the best found.
    floor = (1.0 - ETHICS_ACCURACY_BUDGET) * best_score
    for name in ("preference", "ethics") if scored else ():
        for value in sorted(TUNING_GRID[name], reverse=True):
            if value <= getattr(best, name):
                break
            candidate = replace(best, **{name: value})
            if evaluate(candidate) >= floor:
                best = candidate
                break
    chosen_score = evaluate(best)
    _LOGGER.info(
        "tuned blend weights on %s users: %s (validation NDCG@%s %.4f, best %.4f)",
        len(users),
        best.as_dict(),
        k,
        chosen_score,
        best_score,
    )
    return TuningResult(best, chosen_score, best_score, len(users))
