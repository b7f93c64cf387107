"""Requests/s of the catalog page and /api/v1/products against a bare aiohttp handler.

Each server runs in its own process (one core each on this 2-core machine: server and
load generator), started and measured in the same run, several rounds, medians reported.
Usage: python benchmarks/cloud_catalog_throughput.py [--seconds 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port, stop, wait_for_port  # noqa: E402


def serve(kind: str, port: int) -> None:
    from aiohttp import web

    if kind == "bare":

        async def constant(_request: web.Request) -> web.Response:
            return web.Response(text="ok")

        app = web.Application()
        app.router.add_get("/", constant)
    else:
        from cloud.app import create_app
        from cloud.config import CloudSettings

        app = create_app(CloudSettings.from_env())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def load(url: str, seconds: float, concurrency: int) -> float:
    import aiohttp

    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200, response.status
            done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # warm-up
        for _ in range(20):
            async with session.get(url) as response:
                await response.read()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def start(kind: str, data_dir: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "ETHOS_DATA_DIR": data_dir, "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    env.pop("SMTP_URL", None)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)], cwd=ROOT, env=env
    )
    wait_for_port("127.0.0.1", port, proc, timeout=60)
    return proc, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--serve", choices=["bare", "cloud"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return

    with tempfile.TemporaryDirectory() as data_dir:
        bare, bare_port = start("bare", data_dir)
        cloud, cloud_port = start("cloud", data_dir)
        targets = {
            "bare handler": f"http://127.0.0.1:{bare_port}/",
            "catalog page /": f"http://127.0.0.1:{cloud_port}/",
            "GET /api/v1/products": f"http://127.0.0.1:{cloud_port}/api/v1/products",
        }
        results: dict[str, list[float]] = {name: [] for name in targets}
        try:
            for _ in range(args.rounds):
                for name, url in targets.items():  # interleaved so drift hits all alike
                    results[name].append(asyncio.run(load(url, args.seconds, args.concurrency)))
        finally:
            stop(bare)
            stop(cloud)

    baseline = statistics.median(results["bare handler"])
    print(f"{'target':24} {'median req/s':>12} {'ratio to bare':>14}   rounds")
    for name, values in results.items():
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:24} {median:12.0f} {median / baseline:14.2f}   {rounds}")


if __name__ == "__main__":
    main()
