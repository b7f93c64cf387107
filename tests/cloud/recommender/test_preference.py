"""A learned ethics preference shifts the ranking; the synthetic log's planted one is found."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from cloud.recommender.items import ItemTable
from cloud.recommender.model import BlendWeights, RecommenderModel
from cloud.recommender.records import items_frame, purchases_frame
from cloud.recommender.synthetic import generate_store_log, preference_recovery

from .common import item, purchases

# In bulbs and sensors one option is clearly the most open, one the most private.
CATALOG = [
    item("BLB-OPEN", "bulb", 2, 9, 4),
    item("BLB-PRIV", "bulb", 9, 2, 4),
    item("BLB-MID", "bulb", 5, 5, 5),
    item("SEN-OPEN", "sensor", 3, 10, 4),
    item("SEN-PRIV", "sensor", 10, 3, 4),
    item("SEN-MID", "sensor", 5, 5, 5),
    item("PLG-OPEN", "plug", 3, 9, 5),
    item("PLG-PRIV", "plug", 9, 3, 5),
    item("PLG-GREEN", "plug", 3, 3, 10),
]
# Everyone else bought one thing each: no co-purchases, equal popularity.
BACKGROUND = [(f"bg-{entry.sku}", entry.sku) for entry in CATALOG]
HISTORY = purchases(
    *BACKGROUND,
    ("open-fan", "BLB-OPEN"),
    ("open-fan", "SEN-OPEN"),
    ("privacy-fan", "BLB-PRIV"),
    ("privacy-fan", "SEN-PRIV"),
)
PLUGS = {"PLG-OPEN", "PLG-PRIV", "PLG-GREEN"}


def fitted(weights: BlendWeights) -> RecommenderModel:
    table = ItemTable.build(items_frame(CATALOG))
    return RecommenderModel.fit(purchases_frame(HISTORY), table, weights)


def best_plug(model: RecommenderModel, owned: list[str]) -> str:
    return model.recommend(owned, PLUGS, k=1)[0].sku


def test_planted_preference_picks_the_plug_on_the_users_axis() -> None:
    model = fitted(BlendWeights(content=0.0, popularity=0.0, ethics=0.0, preference=1.0))
    assert best_plug(model, ["BLB-OPEN", "SEN-OPEN"]) == "PLG-OPEN"
    assert best_plug(model, ["BLB-PRIV", "SEN-PRIV"]) == "PLG-PRIV"
    reason = model.recommend(["BLB-OPEN", "SEN-OPEN"], PLUGS, k=1)[0].reason
    assert reason == "high on openness (9/10), like your other devices"


def test_without_the_preference_both_users_get_the_same_plug() -> None:
    model = fitted(BlendWeights(content=0.0, popularity=0.0, ethics=0.0, preference=0.0))
    assert best_plug(model, ["BLB-OPEN", "SEN-OPEN"]) == best_plug(model, ["BLB-PRIV", "SEN-PRIV"])


def test_synthetic_planted_preferences_are_recovered_better_with_ethics_weighting() -> None:
    store = generate_store_log(users=400, items=60, purchases_per_user=6, seed=7)
    table = ItemTable.build(store.items)
    owned = {
        user: list(group.sort_values("timestamp")["item_id"])
        for user, group in store.purchases.groupby("user_id")
    }

    def recovery(weights: BlendWeights) -> float:
        model = RecommenderModel.fit(store.purchases, table, weights)
        return preference_recovery(
            store, lambda user: [r.sku for r in model.recommend(owned.get(user, []), None, 3)]
        )

    ethics_on = BlendWeights(popularity=0.05, content=0.05, preference=4.0, ethics=0.05)
    with_ethics = recovery(ethics_on)
    without = recovery(replace(ethics_on, preference=0.0, ethics=0.0))
    assert with_ethics > without + 0.1
    assert with_ethics > 0.6


def test_synthetic_log_is_reproducible_and_documented_in_its_output() -> None:
    first = generate_store_log(users=30, items=20, seed=3)
    second = generate_store_log(users=30, items=20, seed=3)
    pd.testing.assert_frame_equal(first.purchases, second.purchases)
    assert set(first.planted.unique()) <= {"", "privacy", "openness", "environment"}
    assert first.purchases["timestamp"].dt.tz is not None
    assert set(first.purchases["item_id"]) <= set(first.items["item_id"])


def test_a_content_based_pick_names_the_purchase_it_resembles() -> None:
    model = fitted(
        BlendWeights(collaborative=0.0, content=1.0, popularity=0.0, ethics=0.0, preference=0.0)
    )
    [pick] = model.recommend(["BLB-OPEN"], {"BLB-MID", "PLG-GREEN"}, k=1)
    assert pick.sku == "BLB-MID"  # the other bulb
    assert pick.reason == "similar to the bulb BLB-OPEN you bought"


def test_a_collaborative_pick_names_the_purchase_it_comes_from() -> None:
    history = purchases(
        *BACKGROUND, *[(f"pair-{n}", s) for n in range(5) for s in ("BLB-OPEN", "PLG-GREEN")]
    )
    table = ItemTable.build(items_frame(CATALOG))
    weights = BlendWeights(
        collaborative=1.0, content=0.0, popularity=0.0, ethics=0.0, preference=0.0
    )
    model = RecommenderModel.fit(purchases_frame(history), table, weights)
    [pick] = model.recommend(["BLB-OPEN"], PLUGS, k=1)
    assert pick.sku == "PLG-GREEN"  # bought with the open bulb five times
    assert pick.reason == "because you bought the bulb BLB-OPEN"
