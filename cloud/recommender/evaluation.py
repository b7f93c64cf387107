"""Offline evaluation: the Ethos model against popularity and random, leave-last-out.

Protocol: each user's last interaction by time is held out; the model (blend weights
tuned on the training part only) ranks the full catalog minus what the user already has;
HR@k, NDCG@k, catalog coverage and the mean ethics score of the top k are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .const import RANDOM_SEED, SCORE_MAX
from .holdout import held_out_users, leave_last_out
from .items import ItemTable
from .metrics import coverage, hit_rate, mean_ethics, ndcg
from .model import BlendWeights, RecommenderModel, owned_mask
from .ranking import top_k
from .records import INTERACTION_COLUMNS, RecommenderInputError, require_columns
from .tuning import tune_weights


@dataclass(frozen=True)
class EvaluationReport:
    results: dict[str, dict[str, float | None]]  # model name -> metric -> value
    users: int
    items: int
    weights: BlendWeights

    def as_json(self) -> dict[str, Any]:
        """The CLI's JSON shape; a metric that cannot be computed is null, never NaN."""
        results = {
            name: {
                metric: None if value is None or math.isnan(value) else value
                for metric, value in values.items()
            }
            for name, values in self.results.items()
        }
        return {"results": results, "users": self.users, "items": self.items}


def evaluate(
    interactions: pd.DataFrame,
    items: pd.DataFrame | None,
    k: int,
    seed: int = RANDOM_SEED,
    weights: BlendWeights | None = None,
) -> EvaluationReport:
    """Evaluate on ``interactions``; ``weights`` skips tuning (e.g. to switch a signal off)."""
    if k < 1:
        raise RecommenderInputError(f"k must be at least 1, not {k}")
    require_columns(interactions, INTERACTION_COLUMNS, "interactions")
    table = ItemTable.build(items, extra_skus=interactions["item_id"].astype(str))
    train, held = leave_last_out(interactions)
    if held.empty:
        raise RecommenderInputError("no user has two interactions: nothing to hold out")
    chosen = weights or tune_weights(train, table, k, seed).weights
    model = RecommenderModel.fit(train, table, chosen)
    users, sequences, targets = held_out_users(train, held, table.index)

    excluded = owned_mask(sequences, len(table))
    rng = np.random.default_rng(seed)
    popularity_scores = np.broadcast_to(model.popularity, excluded.shape)
    rankings = {
        "ethos": model.rank(sequences, k),
        "popularity": top_k(popularity_scores, excluded, table.category_codes, k, None),
        "random": top_k(rng.random(excluded.shape), excluded, table.category_codes, k, None),
    }
    # Mean of the three axes on the 0-10 scale; NaN for unscored items (left out of ethics@k).
    item_ethics = table.ethics.mean(axis=1) * SCORE_MAX
    results = {
        name: {
            f"hr@{k}": hit_rate(ranked, targets),
            f"ndcg@{k}": ndcg(ranked, targets),
            "coverage": coverage(ranked, len(table)),
            f"ethics@{k}": mean_ethics(ranked, item_ethics),
        }
        for name, ranked in rankings.items()
    }
    return EvaluationReport(results=results, users=len(users), items=len(table), weights=chosen)
