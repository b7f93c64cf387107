"""One training run: tune the blend weights, fit, optionally save. Blocking; run it in an
executor (the service does)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd

from .const import DEFAULT_K
from .items import ItemTable
from .model import RecommenderModel
from .persistence import save_model
from .records import INTERACTION_COLUMNS, require_columns
from .tuning import tune_weights

_LOGGER = logging.getLogger(__name__)


def train_model(
    purchases: pd.DataFrame,
    items: pd.DataFrame,
    model_path: Path | None = None,
    k: int = DEFAULT_K,
) -> RecommenderModel:
    """Fit on ``purchases`` (user_id, item_id, timestamp) for the catalog ``items``.

    Purchases of products no longer in the catalog are dropped (logged with a count):
    the model only knows, and only recommends, what the store sells now.
    """
    started = time.perf_counter()
    require_columns(purchases, INTERACTION_COLUMNS, "purchases")
    require_columns(items, ("item_id",), "catalog")
    table = ItemTable.build(items)
    known = purchases[purchases["item_id"].astype(str).isin(table.index.keys())]
    if len(known) < len(purchases):
        _LOGGER.info(
            "dropped %s purchases of items not in the catalog", len(purchases) - len(known)
        )
    tuning = tune_weights(known, table, k)
    model = RecommenderModel.fit(known, table, tuning.weights)
    if model_path is not None:
        save_model(model, model_path)
    _LOGGER.info(
        "trained on %s purchases, %s items in %.2f s",
        model.purchases,
        len(table),
        time.perf_counter() - started,
    )
    return model
