"""Plain value types crossing the recommender's boundary, and their DataFrame forms."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from .const import ETHICS_AXES, SCORE_MAX

INTERACTION_COLUMNS = ("user_id", "item_id", "timestamp")
ITEM_COLUMNS = ("item_id", "category", "tags", "name", *ETHICS_AXES)


class RecommenderInputError(ValueError):
    """Input the recommender cannot use; the message says what and where."""


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Refuse a frame that lacks a column, naming the missing ones."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise RecommenderInputError(f"{what}: missing column(s) {', '.join(missing)}")


@dataclass(frozen=True, slots=True)
class CatalogItem:
    """What the recommender needs to know about a product."""

    sku: str
    category: str = ""
    tags: tuple[str, ...] = ()
    # privacy, openness, environment on the catalog's 0-10 scale; None when not scored.
    scores: tuple[float, float, float] | None = None
    name: str = ""

    @classmethod
    def from_catalog_entry(cls, entry: Mapping[str, Any]) -> CatalogItem:
        """Build from a store catalog product (``scores`` = {axis: {"score": n, ...}})."""
        sku = str(entry.get("sku") or "").strip()
        if not sku:
            raise RecommenderInputError(f"catalog entry without a sku: {entry.get('name')!r}")
        raw_scores = entry.get("scores") or {}
        scores: tuple[float, float, float] | None = None
        if all(axis in raw_scores for axis in ETHICS_AXES):
            values = []
            for axis in ETHICS_AXES:
                value = raw_scores[axis]
                values.append(value.get("score") if isinstance(value, Mapping) else value)
            scores = checked_scores(sku, values)
        return cls(
            sku=sku,
            category=str(entry.get("category") or ""),
            tags=tuple(str(tag) for tag in entry.get("tags") or ()),
            scores=scores,
            name=str(entry.get("name") or ""),
        )


def checked_scores(sku: str, values: Iterable[Any]) -> tuple[float, float, float]:
    checked = []
    for axis, value in zip(ETHICS_AXES, values, strict=True):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise RecommenderInputError(f"{sku}: {axis} score {value!r} is not a number") from None
        if not 0.0 <= number <= SCORE_MAX or math.isnan(number):
            raise RecommenderInputError(f"{sku}: {axis} score {number} is outside 0-10")
        checked.append(number)
    return checked[0], checked[1], checked[2]


@dataclass(frozen=True, slots=True)
class Purchase:
    """One settled purchase of one product by one user."""

    user_id: str
    sku: str
    purchased_at: datetime


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One recommended product with its blended score and a short reason for the shopper."""

    sku: str
    score: float
    reason: str


def purchases_frame(purchases: Iterable[Purchase]) -> pd.DataFrame:
    """Purchases as an interactions frame (``user_id, item_id, timestamp`` in UTC)."""
    rows = [(str(p.user_id), p.sku, p.purchased_at) for p in purchases]
    for _user, sku, when in rows:
        if when.tzinfo is None:
            raise RecommenderInputError(f"purchase of {sku} has a naive timestamp {when}")
    frame = pd.DataFrame(rows, columns=list(INTERACTION_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame


def items_frame(items: Iterable[CatalogItem]) -> pd.DataFrame:
    """Catalog items as an items frame (scores on the 0-10 scale, NaN when unscored)."""
    rows = []
    for item in items:
        scores = item.scores or (math.nan, math.nan, math.nan)
        rows.append((item.sku, item.category, tuple(item.tags), item.name, *scores))
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))
