"""Training time and per-user inference latency of the recommender, on one core.

Store-sized synthetic data (``cloud.recommender.synthetic``): 10,000 users, 500 items,
~100,000 purchases. The process is pinned to one CPU and BLAS to one thread.
Side by side in the same run, a popularity baseline: counting purchases (its "training")
and top-k by popularity minus owned items (its inference). Medians of ``--rounds``
training runs; latency percentiles over ``--requests`` single-user calls, as wall time
and as the thread's CPU time (which a busy shared machine does not inflate). Last, with
all CPUs allowed again, how late 5 ms event-loop ticks run while the service trains in
its executor thread, against the same ticks idle.

Usage: python benchmarks/recommender_serving.py [--users 10000] [--items 500]
       [--purchases-per-user 10] [--rounds 3] [--requests 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def warm_up() -> None:
    import cloud.recommender.training  # noqa: F401


async def loop_lag_during_training(
    purchases: object, items: object, executor: object = None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(p99, max) lateness of 5 ms sleeps, first idle, then while the service trains."""
    from cloud.recommender.service import RecommendationService

    async def ticks(until: asyncio.Future | float) -> list[float]:
        lags = []
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(0.005)
            lags.append((loop.time() - started - 0.005) * 1000)
            done = until.done() if isinstance(until, asyncio.Future) else loop.time() > until
            if done:
                return lags

    idle = await ticks(asyncio.get_running_loop().time() + 2.0)
    service = RecommendationService(debounce_seconds=0, executor=executor)
    training = asyncio.ensure_future(service.async_train(purchases, items))
    busy = await ticks(training)
    await training
    return (percentile(idle, 0.99), max(idle)), (percentile(busy, 0.99), max(busy))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--purchases-per-user", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"  # before numpy loads: one core means one BLAS thread too
    all_cpus = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(all_cpus)})

    import numpy as np

    from cloud.recommender.persistence import load_model, save_model
    from cloud.recommender.service import RecommendationService
    from cloud.recommender.synthetic import generate_store_log
    from cloud.recommender.training import train_model

    store = generate_store_log(args.users, args.items, args.purchases_per_user)
    purchases = store.purchases
    print(
        f"{purchases['user_id'].nunique()} users, {len(store.items)} items, "
        f"{len(purchases)} purchases; CPUs allowed: {len(os.sched_getaffinity(0))}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )

    training, training_cpu, counting = [], [], []
    for _ in range(args.rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        model = train_model(purchases, store.items)
        training.append(time.perf_counter() - started)
        training_cpu.append(time.process_time() - started_cpu)
        started = time.perf_counter()
        counts = purchases.groupby("item_id").size()
        counting.append(time.perf_counter() - started)
    train_median = statistics.median(training)
    print(f"tuned weights: {model.weights.as_dict()}")
    count_median = statistics.median(counting)
    print(
        f"training (tune + fit), median of {args.rounds}: {train_median:.2f} s "
        f"(runs {', '.join(f'{t:.2f}' for t in training)}); popularity counting "
        f"{count_median * 1000:.1f} ms; ratio x{train_median / count_median:.0f}; "
        f"CPU time median {statistics.median(training_cpu):.2f} s"
    )

    owned = {
        user: list(group["item_id"])
        for user, group in purchases.sort_values("timestamp").groupby("user_id")
    }
    rng = np.random.default_rng(1)
    users = rng.choice(sorted(owned), size=min(args.requests, len(owned)), replace=False)
    in_stock = set(store.items["item_id"].iloc[: int(len(store.items) * 0.9)])
    popularity = counts.reindex(store.items["item_id"]).fillna(0).to_numpy()
    index = model.items.index

    def popular_top(user: str) -> list[int]:
        scores = popularity.copy()
        scores[[index[sku] for sku in owned[user]]] = -1
        return np.argsort(-scores, kind="stable")[:10].tolist()

    # Serve the way the web layer will: a service restarted from the saved model, with
    # the stock set once (90% of the catalog in stock).
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        save_model(model, path)
        started = time.perf_counter()
        load_model(path)
        loaded = time.perf_counter() - started
        print(f"model file {path.stat().st_size / 1024:.0f} KiB, loads in {loaded * 1000:.0f} ms")
        service = RecommendationService(path)
        assert asyncio.run(service.async_load())
    service.update_stock(in_stock)

    for name, call in (
        ("service.recommend", lambda user: service.recommend(user, owned[user], k=10)),
        (
            "service.often_bought_together",
            lambda user: service.often_bought_together(owned[user][0], k=4),
        ),
        ("popularity top-10", popular_top),
    ):
        for user in users[:100]:
            call(user)  # warm-up
        wall, cpu = [], []
        for user in users:
            started, started_cpu = time.perf_counter_ns(), time.thread_time_ns()
            call(user)
            cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - started) / 1e6)
        waited = sum(1 for w, c in zip(wall, cpu, strict=True) if w - c > 1.0)
        print(
            f"{name:<30} wall p50 {statistics.median(wall):.3f} ms, "
            f"p99 {percentile(wall, 0.99):.3f} ms; CPU p50 {statistics.median(cpu):.3f} ms, "
            f"p99 {percentile(cpu, 0.99):.3f} ms ({len(wall)} users; "
            f"{waited / len(wall):.1%} waited > 1 ms for the CPU)"
        )

    os.sched_setaffinity(0, all_cpus)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pool.submit(warm_up).result()  # start the worker and import before measuring
        for name, executor in (("thread pool", None), ("process pool", pool)):
            idle, busy = asyncio.run(loop_lag_during_training(purchases, store.items, executor))
            print(
                f"event loop lag, training in a {name} (5 ms ticks, {len(all_cpus)} CPUs): "
                f"idle p99 {idle[0]:.1f} ms, max {idle[1]:.1f} ms; "
                f"training p99 {busy[0]:.1f} ms, max {busy[1]:.1f} ms"
            )
    print(f"load average at the end {os.getloadavg()[0]:.1f} (wall-time tails grow with it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
