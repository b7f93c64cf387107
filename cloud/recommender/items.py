"""The item side of the model: index, categories, content features and ethics scores."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from .const import ETHICS_AXES, ETHICS_FEATURE_SCALE, SCORE_MAX


@dataclass(frozen=True)
class ItemTable:
    """Everything per item, aligned by position (the item's index)."""

    skus: np.ndarray  # (n,) str
    categories: np.ndarray  # (n,) str, "" when unknown
    names: np.ndarray  # (n,) str, falls back to the sku
    ethics: np.ndarray  # (n, 3) float32 in [0, 1], NaN when unscored
    features: np.ndarray  # (n, f) float32, L2-normalised rows (all zero: no content)

    @classmethod
    def build(cls, items: pd.DataFrame | None, extra_skus: Iterable[str] = ()) -> ItemTable:
        """Items from an items frame, plus SKUs only seen in interactions (no features)."""
        frame = items.copy() if items is not None else pd.DataFrame({"item_id": []})
        for column, default in (("category", ""), ("name", "")):
            if column not in frame:
                frame[column] = default
        if "tags" not in frame:
            frame["tags"] = [() for _ in range(len(frame))]
        for axis in ETHICS_AXES:
            if axis not in frame:
                frame[axis] = np.nan
        frame["item_id"] = frame["item_id"].astype(str)
        known = set(frame["item_id"])
        extra = sorted({str(sku) for sku in extra_skus} - known)
        if extra:
            filler = pd.DataFrame({"item_id": extra, "category": "", "name": ""})
            filler["tags"] = [() for _ in extra]
            frame = pd.concat([frame, filler], ignore_index=True)
        frame = frame.fillna({"category": "", "name": ""}).reset_index(drop=True)
        ethics = frame[list(ETHICS_AXES)].to_numpy(dtype=np.float32) / SCORE_MAX
        names = np.where(frame["name"] == "", frame["item_id"], frame["name"]).astype(str)
        return cls(
            skus=frame["item_id"].to_numpy(dtype=str),
            categories=frame["category"].to_numpy(dtype=str),
            names=names,
            ethics=ethics,
            features=_content_features(frame, ethics),
        )

    def __len__(self) -> int:
        return len(self.skus)

    @cached_property
    def index(self) -> dict[str, int]:
        return {str(sku): position for position, sku in enumerate(self.skus)}

    @cached_property
    def category_codes(self) -> np.ndarray:
        """(n,) a number per category, -1 for items without one."""
        names, codes = np.unique(self.categories, return_inverse=True)
        codes = codes.astype(np.int64)
        if len(names) and names[0] == "":
            codes -= 1  # "" sorts first: it becomes -1, the rest shift down
        return codes

    @cached_property
    def ethics_filled(self) -> np.ndarray:
        """Ethics with unscored items at 0: the store does not presume a device is ethical."""
        return np.nan_to_num(self.ethics, nan=0.0)

    @cached_property
    def mean_ethics(self) -> np.ndarray:
        """(n,) mean of the three axes in [0, 1], 0 when unscored."""
        return self.ethics_filled.mean(axis=1)

    @cached_property
    def alternatives_ethics(self) -> np.ndarray:
        """(n, 3): mean ethics of the scored items in the item's category, i.e. what a
        shopper buying this item could have picked instead (whole catalog if uncategorised)."""
        frame = pd.DataFrame(self.ethics, columns=list(ETHICS_AXES))
        overall = frame.mean().fillna(0.0)
        by_category = frame.groupby(self.categories).transform("mean")
        by_category[self.categories == ""] = np.nan
        return by_category.fillna(overall).to_numpy(dtype=np.float32)


def _content_features(frame: pd.DataFrame, ethics: np.ndarray) -> np.ndarray:
    labels = [
        ([f"category:{category}"] if category else []) + [f"tag:{tag}" for tag in tags]
        for category, tags in zip(frame["category"], frame["tags"], strict=True)
    ]
    binarizer = MultiLabelBinarizer(sparse_output=False)
    one_hot = (
        binarizer.fit_transform(labels).astype(np.float32)
        if any(labels)
        else np.zeros((len(frame), 0), dtype=np.float32)
    )
    ethics_part = np.nan_to_num(ethics, nan=0.0) * ETHICS_FEATURE_SCALE
    combined = np.hstack([one_hot, ethics_part]).astype(np.float32)
    if not len(combined):
        return combined  # an empty catalog
    return normalize(combined).astype(np.float32)
