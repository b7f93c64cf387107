"""Leave-last-out splits: each user's latest interaction is held out for evaluation."""

from __future__ import annotations

import pandas as pd


def leave_last_out(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows): the last row by time of every user with two or more
    interactions is held out; ties in time keep file order. Single-interaction users stay
    in training only, since they would have nothing to be recommended from."""
    ordered = interactions.sort_values("timestamp", kind="stable")
    counts = ordered.groupby("user_id")["item_id"].transform("size")
    is_last = ~ordered.duplicated("user_id", keep="last")
    held = ordered[is_last & (counts >= 2)]
    return ordered.drop(held.index), held
