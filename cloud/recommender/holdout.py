"""Leave-last-out splits: each user's latest interaction is held out for evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import user_sequences


def leave_last_out(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows): the last row by time of every user with two or more
    interactions is held out; ties in time keep file order. Single-interaction users stay
    in training only, since they would have nothing to be recommended from."""
    ordered = interactions.sort_values("timestamp", kind="stable")
    counts = ordered.groupby("user_id")["item_id"].transform("size")
    is_last = ~ordered.duplicated("user_id", keep="last")
    held = ordered[is_last & (counts >= 2)]
    return ordered.drop(held.index), held


def held_out_users(
    train: pd.DataFrame, held: pd.DataFrame, index: dict[str, int]
) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """For the held-out users: ids, training histories (oldest first) and held-out items."""
    users, sequences = user_sequences(train[train["user_id"].isin(held["user_id"])], index)
    target_by_user = dict(
        zip(held["user_id"].astype(str), held["item_id"].astype(str), strict=True)
    )
    targets = np.array([index[target_by_user[user]] for user in users], dtype=np.int64)
    return users, sequences, targets
