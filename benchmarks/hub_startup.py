"""Hub start-to-ready time and resident memory with 200 discovered sensors, against a bare
app (the floor), and optionally against earlier code, in the same run.

A private Mosquitto holds 200 retained discovery configs (sensors, with retained states),
four per device, each device under its own node id as Home Assistant's convention has it.
The hub is plain `ethos hub serve` (default integrations, not linked; without a Bluetooth
adapter on this machine), its own process, cold (empty data folder) and then warm (same
folder); "ready" is /healthz answering `running` with all 200 entities, timed from process
spawn. RSS is read from /proc one second after ready.

The floor is a bare aiohttp app in its own process: it imports exactly the libraries the hub
must import before it is ready (aiohttp, aiohttp_jinja2 + Jinja2 for the web UI, aiomqtt,
zeroconf, sqlite3 for the history), with the same paused garbage collector as `ethos hub
serve`, and answers /healthz; timed from spawn to its first answer, RSS read the same way.
hub minus floor is what the hub itself adds. Each checkout is byte-compiled first, as an
installed package is. ``--baseline REF`` also starts the hub of a
``git worktree`` of REF (e.g. ``merge-base:main``), alternating with this checkout.

    .venv/bin/python -m benchmarks.hub_startup [--rounds 5] [--baseline merge-base:main]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.hub_common import (
    ENTITIES,
    ROOT,
    checkout_of,
    compile_bytecode,
    free_port,
    healthz_with_every_entity,
    load_averages,
    private_mosquitto,
    resolve_ref,
    seed_discovery,
    serve_hub,
    wait_ready,
)

PREFIX = "bench_ha"
GOAL_READY_S = 1.0
GOAL_RSS_MB = 55.0
FLOOR_LIBRARIES = ("aiohttp", "aiohttp_jinja2", "jinja2", "aiomqtt", "zeroconf", "sqlite3")
FLOOR = f"""
import gc, sys
gc.disable()
import {", ".join(FLOOR_LIBRARIES)}
from aiohttp import web

async def health(request):
    return web.json_response({{"state": "running"}})

async def resume_collection(app):
    gc.enable()

app = web.Application()
app.router.add_get("/healthz", health)
app.on_startup.append(resume_collection)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""
# ready s, RSS MB, core start s, core start -> ready s, CPU s used until ready
Sample = tuple[float, float, float, float, float]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far: less at the mercy of other load than
    wall time on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_hub(checkout: Path, port: int, data_dir: Path) -> Sample:
    started = time.perf_counter()
    proc, web_port = serve_hub(checkout, data_dir, port, PREFIX)
    try:
        health = healthz_with_every_entity(web_port, proc)
        ready = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        time.sleep(1.0)  # let it settle before reading memory
        core, to_ready = float(health["started_in"]), float(health["uptime"])
        return ready, rss_mb(proc.pid), core, to_ready, cpu
    finally:
        proc.terminate()
        proc.wait(10)


def start_floor() -> tuple[float, float, float]:
    """(seconds from spawn to the bare app's first answer, RSS MB, CPU seconds)."""
    web_port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, str(web_port)])
    try:
        wait_ready(proc, f"http://127.0.0.1:{web_port}/healthz", lambda h: True)
        ready = time.perf_counter() - started
        cpu = cpu_seconds(proc.pid)
        time.sleep(1.0)
        return ready, rss_mb(proc.pid), cpu
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def checkouts(baseline: str | None) -> Iterator[dict[str, Path]]:
    if baseline is None:
        yield {"this": ROOT}
        return
    with checkout_of(resolve_ref(baseline)) as earlier:
        yield {"this": ROOT, "earlier": earlier}


def med(rows: list[tuple], i: int) -> float:
    return statistics.median(r[i] for r in rows)


def main(rounds: int, baseline: str | None) -> None:
    print(f"before: {load_averages()}")
    floor: list[tuple[float, float, float]] = []
    samples: dict[str, dict[str, list[Sample]]] = {}
    with private_mosquitto() as port, checkouts(baseline) as code:
        for checkout in code.values():
            compile_bytecode(checkout)
        seed_discovery(port, PREFIX)
        for n in range(rounds):
            for label, checkout in code.items():
                runs = samples.setdefault(label, {"cold": [], "warm": []})
                with tempfile.TemporaryDirectory() as folder:
                    runs["cold"].append(start_hub(checkout, port, Path(folder)))
                    runs["warm"].append(start_hub(checkout, port, Path(folder)))
                cold, warm = runs["cold"][-1], runs["warm"][-1]
                print(
                    f"round {n + 1} {label}: cold {cold[0]:.2f} s / {cold[1]:.1f} MB, "
                    f"warm {warm[0]:.2f} s / {warm[1]:.1f} MB (core {warm[2] * 1000:.0f} ms)"
                )
            floor.append(start_floor())
            print(f"round {n + 1} floor: {floor[-1][0]:.2f} s / {floor[-1][1]:.1f} MB")
    print(f"after:  {load_averages()}")

    floor_s, floor_mb, floor_cpu = med(floor, 0), med(floor, 1), med(floor, 2)
    print(f"\nmedians of {rounds} rounds, {ENTITIES} entities, plain `ethos hub serve`")
    print(f"floor: bare aiohttp app importing {', '.join(FLOOR_LIBRARIES)}")
    print(f"  spawn -> first answer {floor_s:.2f} s ({floor_cpu:.2f} CPU s), RSS {floor_mb:.1f} MB")
    for label, runs in samples.items():
        print(f"{label} ({code_label(label, baseline)}):")
        for kind, rows in runs.items():
            print(
                f"  {kind}  ready {med(rows, 0):.2f} s = {med(rows, 0) / floor_s:.2f} x floor "
                f"(+{med(rows, 0) - floor_s:.2f} s; goal <= {GOAL_READY_S:g} s; "
                f"{med(rows, 4):.2f} CPU s = {med(rows, 4) / floor_cpu:.2f} x floor)   "
                f"RSS {med(rows, 1):.1f} MB = floor + {med(rows, 1) - floor_mb:.1f} MB "
                f"(goal <= {GOAL_RSS_MB:g} MB)   core start {med(rows, 2) * 1000:.0f} ms, "
                f"core start -> every entity {med(rows, 3):.2f} s"
            )


def code_label(label: str, baseline: str | None) -> str:
    return (
        "this checkout" if label == "this" else f"{baseline} = {resolve_ref(baseline or '')[:12]}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="also start the hub of this git ref")
    args = parser.parse_args()
    main(args.rounds, args.baseline)
