"""Does the ethics weighting recover planted preferences? A synthetic store log says.

The log comes from ``cloud.recommender.synthetic`` (documented there): a share of users
picks, inside each category, items high on one planted axis. Reported side by side:

* recovery: share of users with a planted axis (and two purchases or more) whose top 3
  has its highest mean score on that axis, for the trained model (tuned weights), the
  same model with the ethics weighting off (preference and ethics weights 0), and random
  top 3s (chance level);
* how often the learned preference vector's largest component is the planted axis;
* leave-last-out HR@10 / NDCG@10 / ethics@10 of the model with and without the ethics
  weighting, and of the popularity and random baselines.

Usage: python benchmarks/recommender_synthetic.py [--users 3000] [--items 200] [--seed N]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--purchases-per-user", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=20261127)
    args = parser.parse_args()

    import numpy as np

    from cloud.recommender.const import ETHICS_AXES
    from cloud.recommender.evaluation import evaluate
    from cloud.recommender.synthetic import generate_store_log, preference_recovery
    from cloud.recommender.training import train_model

    started = time.perf_counter()
    store = generate_store_log(args.users, args.items, args.purchases_per_user, seed=args.seed)
    planted_share = (store.planted != "").mean()
    print(
        f"synthetic log: {len(store.purchases)} purchases, {args.users} users "
        f"({planted_share:.0%} with a planted axis), {args.items} items"
    )

    model = train_model(store.purchases, store.items)
    without = replace(model, weights=replace(model.weights, preference=0.0, ethics=0.0))
    owned = {
        user: list(group["item_id"])
        for user, group in store.purchases.sort_values("timestamp").groupby("user_id")
    }
    rng = np.random.default_rng(args.seed)
    skus = store.items["item_id"].to_numpy()

    def random_top(user: str) -> list[str]:
        free = skus[~np.isin(skus, owned.get(user, []))]
        return list(rng.choice(free, size=3, replace=False))

    print(f"tuned weights: {model.weights.as_dict()}")
    print("top-3 reflects the planted axis (users with >= 2 purchases):")
    for name, top in (
        ("ethos (tuned)", lambda user: [r.sku for r in model.recommend(owned[user], None, 3)]),
        (
            "ethics weighting off",
            lambda user: [r.sku for r in without.recommend(owned[user], None, 3)],
        ),
        ("random top 3 (chance)", random_top),
    ):
        print(f"  {name:<24}{preference_recovery(store, top):.1%}")

    users_with_axis = [
        user for user, axis in store.planted.items() if axis and len(owned.get(user, [])) >= 2
    ]
    index = model.items.index
    sequences = [np.array([index[sku] for sku in owned[user]]) for user in users_with_axis]
    learned = model.signals_for(sequences).user_preferences
    matches = [
        ETHICS_AXES[int(np.argmax(vector))] == store.planted[user]
        for user, vector in zip(users_with_axis, learned, strict=True)
    ]
    print(f"learned preference's largest axis = planted axis: {np.mean(matches):.1%}")

    tuned = evaluate(store.purchases, store.items, 10)
    off = evaluate(
        store.purchases,
        store.items,
        10,
        weights=replace(tuned.weights, preference=0.0, ethics=0.0),
    )
    rows = {
        "ethos (tuned)": tuned.results["ethos"],
        "ethics weighting off": off.results["ethos"],
        "popularity": tuned.results["popularity"],
        "random": tuned.results["random"],
    }
    print(f"leave-last-out on {tuned.users} users; weights {tuned.weights.as_dict()}")
    print(f"  {'model':<24}{'HR@10':>8}{'NDCG@10':>9}{'ethics@10':>10}")
    for name, values in rows.items():
        print(
            f"  {name:<24}{values['hr@10']:>8.4f}{values['ndcg@10']:>9.4f}"
            f"{values['ethics@10']:>10.2f}"
        )
    print(f"took {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
