"""`ethos recommender …`: offline evaluation and synthetic store logs.

Imports only argparse at module level; pandas and scikit-learn load inside the handlers.
"""

from __future__ import annotations

import argparse
import logging
import sys

_LOGGER = logging.getLogger(__name__)

_ENVIRONMENT = "Environment: LOG_LEVEL (default INFO)."


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "recommender",
        help="evaluate the recommender offline, make synthetic purchase logs",
        description="Recommendation engine tools (offline; no server needed). " + _ENVIRONMENT,
    )
    commands = parser.add_subparsers(dest="recommender_command", metavar="COMMAND", required=True)

    evaluate = commands.add_parser(
        "evaluate",
        help="HR@k, NDCG@k, coverage and ethics@k of Ethos vs popularity and random",
        description=(
            "Leave each user's last interaction (by time) out, rank the whole catalog minus "
            "what the user has, and report HR@k, NDCG@k, catalog coverage and the mean "
            "ethics score of the top k for the Ethos model (blend weights tuned on the "
            "training part only), a popularity and a random baseline. " + _ENVIRONMENT
        ),
    )
    evaluate.add_argument(
        "--interactions",
        required=True,
        metavar="FILE.csv",
        help="CSV with user_id,item_id,timestamp (epoch seconds or ISO 8601)",
    )
    evaluate.add_argument(
        "--items",
        metavar="FILE.csv",
        help="CSV with item_id,category,privacy,openness,environment[,tags][,name]; "
        "without it items get no content or ethics signal",
    )
    evaluate.add_argument("--k", type=int, default=10, help="list length (default 10)")
    evaluate.add_argument(
        "--seed", type=int, default=None, help="random seed (random baseline, tuning sample)"
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=run_evaluate)

    synthesize = commands.add_parser(
        "synthesize",
        help="write a synthetic store purchase log with planted ethics preferences",
        description=(
            "Write interactions.csv, items.csv and planted.csv (user_id,axis) into a folder; "
            "see cloud/recommender/synthetic.py for how the log is made. " + _ENVIRONMENT
        ),
    )
    synthesize.add_argument("--out", required=True, metavar="DIR", help="folder to write to")
    synthesize.add_argument("--users", type=int, default=1000, help="number of users")
    synthesize.add_argument("--items", type=int, default=200, help="catalog size")
    synthesize.add_argument(
        "--purchases-per-user", type=float, default=6.0, help="mean purchases per user"
    )
    synthesize.add_argument("--seed", type=int, default=None, help="random seed")
    synthesize.set_defaults(handler=run_synthesize)


def run_evaluate(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from .const import RANDOM_SEED
    from .evaluation import evaluate
    from .files import read_interactions, read_items
    from .records import RecommenderInputError

    try:
        log = read_interactions(Path(args.interactions))
        items = read_items(Path(args.items)) if args.items else None
        seed = RANDOM_SEED if args.seed is None else args.seed
        report = evaluate(log.frame, items, args.k, seed)
    except (RecommenderInputError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_json()))
        return 0
    print(f"{report.users} users, {report.items} items, k={args.k}")
    print(f"blend weights: {report.weights.as_dict()}")
    metrics = list(next(iter(report.results.values())))
    print(f"{'model':<12}" + "".join(f"{name:>12}" for name in metrics))
    for model, values in report.results.items():
        cells = "".join(
            f"{'-':>12}" if value is None else f"{value:>12.4f}" for value in values.values()
        )
        print(f"{model:<12}{cells}")
    return 0


def run_synthesize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .const import RANDOM_SEED
    from .synthetic import generate_store_log, write_store_log

    if args.users < 1 or args.items < 1:
        print("error: --users and --items must be at least 1", file=sys.stderr)
        return 2
    store = generate_store_log(
        users=args.users,
        items=args.items,
        purchases_per_user=args.purchases_per_user,
        seed=RANDOM_SEED if args.seed is None else args.seed,
    )
    out = Path(args.out)
    write_store_log(store, out)
    _LOGGER.info("wrote %s purchases by %s users to %s", len(store.purchases), args.users, out)
    return 0
