"""A generator of synthetic store purchase logs with known (planted) ethics preferences.

How a log is made, so that what the model should find is known:

1. **Catalog.** Items are spread evenly over smart-home categories. Each gets three ethics
   scores drawn independently and uniformly from 0-10, a couple of tags typical of its
   category, and an *appeal* (log-normal) that makes some items best-sellers.
2. **Baskets follow the home.** The category of a user's next purchase depends on the
   last one (a hub leads to sensors and plugs, a presence detector to bulbs ...): a
   Markov chain whose successors are drawn once per catalog. That gives co-purchase
   structure for the collaborative signal to find.
3. **Planted preferences.** A share of users cares about one axis (privacy, openness or
   environment, drawn uniformly). Inside the chosen category they pick an item with
   probability ∝ appeal × exp(strength × score on their axis / 10); everyone else ∝ appeal.
4. **Time.** Each user's purchases are spaced by exponential gaps (mean two weeks) from a
   start in 2025, in UTC.

The planted axis per user is returned, so an evaluation can check how often the top
recommendations lean towards it (see :func:`preference_recovery`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from .const import ETHICS_AXES, RANDOM_SEED
from .records import ITEM_COLUMNS

CATEGORIES = (
    "presence",
    "plug",
    "bulb",
    "thermostat",
    "sensor",
    "hub",
    "switch",
    "lock",
    "camera",
    "speaker",
)
_TAGS = ("matter", "zigbee", "thread", "wifi", "ble", "local-only", "battery", "mains", "solar")
_START = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class SyntheticStore:
    purchases: pd.DataFrame  # user_id, item_id, timestamp (UTC)
    items: pd.DataFrame  # an items frame: item_id, category, tags, name, privacy, ...
    planted: pd.Series  # user_id -> planted axis, "" for users without one


def generate_store_log(
    users: int = 1000,
    items: int = 200,
    purchases_per_user: float = 6.0,
    preference_share: float = 0.7,
    preference_strength: float = 4.0,
    seed: int = RANDOM_SEED,
) -> SyntheticStore:
    """Make a store log; ``purchases_per_user`` is the mean (at least one each)."""
    rng = np.random.default_rng(seed)
    catalog = _catalog(items, rng)
    categories = catalog["category"].to_numpy()
    members = [np.flatnonzero(categories == name) for name in CATEGORIES]
    members = [found for found in members if len(found)]
    successors = [
        rng.choice(len(members), size=min(3, len(members)), replace=False) for _ in members
    ]
    log_appeal = rng.normal(0.0, 1.0, size=items)  # log of a log-normal appeal
    scores = catalog[list(ETHICS_AXES)].to_numpy(dtype=float) / 10.0

    planted = np.where(
        rng.random(users) < preference_share, rng.choice(ETHICS_AXES, size=users), ""
    )
    user_ids: list[str] = []
    item_rows: list[int] = []
    times: list[np.ndarray] = []
    for user in range(users):
        axis = ETHICS_AXES.index(planted[user]) if planted[user] else None
        logits = log_appeal + (preference_strength * scores[:, axis] if axis is not None else 0.0)
        owned = np.zeros(items, dtype=bool)
        count = 1 + rng.poisson(max(purchases_per_user - 1.0, 0.0))
        category = int(rng.integers(len(members)))
        bought: list[int] = []
        for _ in range(count):
            item = _pick(members[category], logits, owned, rng)
            if item is None:
                break
            owned[item] = True
            bought.append(item)
            # Mostly follow the home's logic, sometimes wander.
            if rng.random() < 0.8:
                following = successors[category]
                category = int(following[rng.integers(len(following))])
            else:
                category = int(rng.integers(len(members)))
        days = rng.uniform(0, 365) + np.cumsum(rng.exponential(14.0, size=len(bought)))
        user_ids += [f"u{user:05d}"] * len(bought)
        item_rows += bought
        times.append(days)
    offsets = pd.to_timedelta(np.concatenate(times) if times else np.zeros(0), unit="D")
    purchases = pd.DataFrame(
        {
            "user_id": user_ids,
            "item_id": catalog["item_id"].to_numpy()[np.array(item_rows, dtype=np.int64)],
            "timestamp": pd.Timestamp(_START) + offsets,
        }
    )
    planted_series = pd.Series(planted, index=[f"u{user:05d}" for user in range(users)])
    return SyntheticStore(purchases=purchases, items=catalog, planted=planted_series)


def _catalog(count: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for position in range(count):
        category = CATEGORIES[position % len(CATEGORIES)]
        tags = tuple(sorted(set(rng.choice(_TAGS, size=2))))
        scores = rng.integers(0, 11, size=3).astype(float)
        rows.append((f"SKU-{position:04d}", category, tags, f"{category} {position}", *scores))
    return pd.DataFrame(rows, columns=list(ITEM_COLUMNS))


def _pick(
    candidates: np.ndarray, logits: np.ndarray, owned: np.ndarray, rng: np.random.Generator
) -> int | None:
    """Draw one not-yet-owned candidate with probability ∝ exp(logit) (Gumbel-max)."""
    noisy = logits[candidates] + rng.gumbel(size=len(candidates))
    noisy[owned[candidates]] = -np.inf
    best = int(np.argmax(noisy))
    return int(candidates[best]) if np.isfinite(noisy[best]) else None


def preference_recovery(
    store: SyntheticStore, top_for_user: Callable[[str], list[str]], min_purchases: int = 2
) -> float:
    """Share of users with a planted axis (and ``min_purchases``) whose top list leans to it:
    the planted axis has the highest mean score over the recommended items."""
    scores = store.items.set_index("item_id")[list(ETHICS_AXES)]
    counts = store.purchases.groupby("user_id").size()
    hits = total = 0
    for user, axis in store.planted.items():
        if not axis or counts.get(user, 0) < min_purchases:
            continue
        top = top_for_user(str(user))
        if not top:
            continue
        means = scores.loc[top].mean()
        total += 1
        hits += int(means.idxmax() == axis and (means == means.max()).sum() == 1)
    return hits / total if total else float("nan")


def write_store_log(store: SyntheticStore, folder: Path) -> None:
    """Write interactions.csv, items.csv and planted.csv in the evaluate CLI's formats."""
    folder.mkdir(parents=True, exist_ok=True)
    purchases = store.purchases.copy()
    purchases["timestamp"] = purchases["timestamp"].map(lambda when: when.isoformat())
    purchases.to_csv(folder / "interactions.csv", index=False)
    items = store.items.copy()
    items["tags"] = items["tags"].map("|".join)
    items.to_csv(folder / "items.csv", index=False)
    planted = store.planted.rename_axis("user_id").rename("axis").reset_index()
    planted.to_csv(folder / "planted.csv", index=False)
