"""Short, honest reasons shown next to each recommendation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .const import ETHICS_AXES, SCORE_MAX

if TYPE_CHECKING:
    from .model import RecommenderModel, Signals


_SIGNALS = ("collaborative", "content", "preference", "ethics", "popularity")


def explain(
    model: RecommenderModel, found: Signals, owned: np.ndarray, chosen: np.ndarray
) -> list[str]:
    """A reason per chosen item: the signal that contributed most to its score, told in
    terms of the shopper's own devices where possible."""
    if found.cold[0]:
        return [_cold_start(model, int(item)) for item in chosen]
    weights = model.weights
    contributions = np.vstack(
        [
            weights.collaborative * found.collaborative[0, chosen],
            weights.content * found.content[0, chosen],
            weights.preference * found.preference[0, chosen],
            weights.ethics * found.ethics[chosen],
            weights.popularity * found.popularity[chosen],
        ]
    )
    strongest = contributions.argmax(axis=0)
    co_purchase = _strongest_co_purchases(model, owned, chosen)
    similar = owned[np.argmax(model.items.features[chosen] @ model.items.features[owned].T, axis=1)]
    names = model.items.names
    reasons = []
    for column, item in enumerate(chosen.tolist()):
        signal = _SIGNALS[strongest[column]]
        if contributions[strongest[column], column] <= 0:
            reasons.append(_cold_start(model, item))
        elif signal == "collaborative" and co_purchase[column] >= 0:
            reasons.append(f"because you bought the {names[co_purchase[column]]}")
        elif signal == "collaborative":
            reasons.append(f"shoppers who bought the {names[similar[column]]} chose this too")
        elif signal == "content":
            reasons.append(f"similar to the {names[similar[column]]} you bought")
        elif signal == "preference":
            axis = int(np.argmax(found.user_preferences[0] * model.items.ethics_filled[item]))
            score = _score(model, item, axis)
            reasons.append(f"high on {ETHICS_AXES[axis]} ({score}/10), like your other devices")
        elif signal == "ethics":
            axis = int(np.argmax(model.items.ethics_filled[item]))
            reasons.append(f"rated {ETHICS_AXES[axis]} {_score(model, item, axis)}/10")
        else:
            reasons.append("popular with other shoppers")
    return reasons


def explain_together(model: RecommenderModel, item: int, bought_together: bool) -> str:
    name = model.items.names[item]
    return f"often bought together with {name}" if bought_together else f"similar to {name}"


def _cold_start(model: RecommenderModel, item: int) -> str:
    popular = model.popularity[item] > 0
    if np.isnan(model.items.ethics[item]).any():
        return "popular with other shoppers" if popular else "new in the store"
    axis = int(np.argmax(model.items.ethics[item]))
    rating = f"{ETHICS_AXES[axis]} {_score(model, item, axis)}/10"
    return f"popular, with {rating}" if popular else f"rated {rating}"


def _strongest_co_purchases(
    model: RecommenderModel, owned: np.ndarray, chosen: np.ndarray
) -> np.ndarray:
    """Per chosen item, the owned item it is most strongly bought with (-1: none)."""
    targets = model.covered_position[chosen]
    sources = model.covered_position[owned]
    anchors = np.full(len(chosen), -1, dtype=np.int64)
    usable = sources >= 0
    if not usable.any():
        return anchors
    pairs = np.ix_(sources[usable], np.maximum(targets, 0))
    strengths = np.where(model.bought_together[pairs], model.item_weights[pairs], 0.0)
    best = strengths.argmax(axis=0)
    found = (targets >= 0) & (strengths[best, np.arange(len(chosen))] > 0)
    anchors[found] = owned[usable][best[found]]
    return anchors


def _score(model: RecommenderModel, item: int, axis: int) -> str:
    return f"{model.items.ethics[item, axis] * SCORE_MAX:g}"
