"""Short, honest reasons shown next to each recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .const import ETHICS_AXES, SCORE_MAX

if TYPE_CHECKING:
    from .model import RecommenderModel, Signals


def explain(model: RecommenderModel, found: Signals, owned: np.ndarray, item: int) -> str:
    """The reason for recommending ``item``: the signal that contributed most to its score."""
    items = model.items
    if found.cold[0]:
        return _cold_start(model, item)
    weights = model.weights
    contributions = {
        "collaborative": weights.collaborative * found.collaborative[0, item],
        "content": weights.content * found.content[0, item],
        "preference": weights.preference * found.preference[0, item],
        "ethics": weights.ethics * found.ethics[item],
        "popularity": weights.popularity * found.popularity[item],
    }
    strongest = max(contributions, key=lambda name: contributions[name])
    if contributions[strongest] <= 0:
        return _cold_start(model, item)
    if strongest == "collaborative":
        anchor = _strongest_co_purchase(model, owned, item)
        if anchor is not None:
            return f"bought together with your {items.names[anchor]}"
    if strongest in ("collaborative", "content"):
        anchor = int(owned[np.argmax(items.features[owned] @ items.features[item])])
        return f"similar to your {items.names[anchor]}"
    if strongest == "preference":
        axis = int(np.argmax(found.user_preferences[0] * items.ethics_filled[item]))
        return f"high {ETHICS_AXES[axis]} ({_score(model, item, axis)}/10), like your other devices"
    if strongest == "ethics":
        axis = int(np.argmax(items.ethics_filled[item]))
        return f"top {ETHICS_AXES[axis]} score ({_score(model, item, axis)}/10)"
    return "popular with other shoppers"


def explain_together(model: RecommenderModel, item: int, bought_together: bool) -> str:
    name = model.items.names[item]
    return f"often bought together with {name}" if bought_together else f"similar to {name}"


def _cold_start(model: RecommenderModel, item: int) -> str:
    if np.isnan(model.items.ethics[item]).any():
        return "popular with other shoppers"
    axis = int(np.argmax(model.items.ethics[item]))
    return f"popular, with {ETHICS_AXES[axis]} {_score(model, item, axis)}/10"


def _strongest_co_purchase(model: RecommenderModel, owned: np.ndarray, item: int) -> int | None:
    target = model.covered_position[item]
    positions = model.covered_position[owned]
    in_model = positions >= 0
    if target < 0 or not in_model.any():
        return None
    strengths = model.item_weights[positions[in_model], target]
    best = int(np.argmax(strengths))
    return int(owned[in_model][best]) if strengths[best] > 0 else None


def _score(model: RecommenderModel, item: int, axis: int) -> str:
    return f"{model.items.ethics[item, axis] * SCORE_MAX:g}"
