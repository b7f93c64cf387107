"""Hub start-to-ready time and resident memory with 200 entities, against a bare app.

A private Mosquitto holds 200 retained discovery configs (sensors, with retained states),
four per device, each device under its own node id as Home Assistant's convention has it
(the hub admits new topics per node id at a bounded rate).
`ethos hub serve` is started as its own process, cold (empty data folder) and then warm
(same folder); "ready" is /healthz answering `running` with all 200 entities, timed from
process spawn. RSS is read from /proc one second after ready.

The baseline (the floor) is a bare aiohttp app in its own process: it imports exactly the
libraries the hub must import before it is ready (aiohttp, aiohttp_jinja2 + Jinja2 for the
web UI, aiomqtt, SQLModel with SQLAlchemy and pydantic for the registries), with the same
paused garbage collector as `ethos hub serve`, and answers /healthz; timed from spawn to
its first answer, RSS read the same way. hub minus floor is what the hub itself adds.

    .venv/bin/python -m benchmarks.hub_startup [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as paho

from benchmarks.hub_common import ENTITIES, free_port, private_mosquitto

PREFIX = "bench_ha"
# `ethos hub serve` as the CLI runs it, limited to the MQTT integration so the figure is
# about the core and MQTT (other integrations in the tree have their own figures).
SERVE = (
    "import dataclasses, sys;from hub.cli import run_hub;from hub.core.config import HubConfig;"
    "config = HubConfig.from_env(host='127.0.0.1', port=int(sys.argv[1]));"
    "run_hub(dataclasses.replace(config, integrations=('mqtt',)))"
)
FLOOR_LIBRARIES = ("aiohttp", "aiohttp_jinja2", "jinja2", "aiomqtt", "sqlmodel")
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


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def seed_broker(port: int) -> None:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-seed")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for i in range(ENTITIES):
        config = {
            "name": f"Sensor {i}",
            "uniq_id": f"bench_{i}",
            "stat_t": f"bench/{i}/state",
            "unit_of_meas": "W",
            "dev": {"ids": [f"bench-dev-{i // 4}"], "name": f"Dev {i // 4}"},
        }
        topic = f"{PREFIX}/sensor/bench{i // 4}/s{i}/config"
        client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.publish(f"bench/{i}/state", str(i), qos=1, retain=True).wait_for_publish()
    client.loop_stop()
    client.disconnect()


def wait_ready(proc: subprocess.Popen, url: str, ready: Callable[[dict], bool]) -> dict:
    started = time.perf_counter()
    while True:
        if proc.poll() is not None or time.perf_counter() - started > 30:
            raise RuntimeError(f"{url} did not become ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (http URL made here)
                health = json.load(response)
            if ready(health):
                return health
        except OSError:
            pass
        time.sleep(0.01)


def start_hub(port: int, data_dir: Path) -> tuple[float, float, float, float]:
    """(seconds to ready, RSS MB, hub's own started_in seconds, core start to ready)."""
    web_port = free_port()
    env = {
        **os.environ,
        "ETHOS_DATA_DIR": str(data_dir),
        "MQTT_URL": f"mqtt://127.0.0.1:{port}",
        "ETHOS_HUB_DISCOVERY_PREFIX": PREFIX,
        "LOG_LEVEL": "WARNING",
    }
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, str(web_port)], env=env)
    try:
        health = wait_ready(
            proc,
            f"http://127.0.0.1:{web_port}/healthz",
            lambda h: h["state"] == "running" and h["entities"] >= ENTITIES,
        )
        ready = time.perf_counter() - started
        time.sleep(1.0)  # let it settle before reading memory
        return ready, rss_mb(proc.pid), float(health["started_in"]), float(health["uptime"])
    finally:
        proc.terminate()
        proc.wait(10)


def start_floor() -> tuple[float, float]:
    """(seconds from spawn to the bare app's first answer, RSS MB)."""
    web_port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", FLOOR, str(web_port)])
    try:
        wait_ready(proc, f"http://127.0.0.1:{web_port}/healthz", lambda h: True)
        ready = time.perf_counter() - started
        time.sleep(1.0)
        return ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main(rounds: int) -> None:
    cold, warm, floor = [], [], []
    with private_mosquitto() as port:
        seed_broker(port)
        for n in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                cold.append(start_hub(port, Path(folder)))
                warm.append(start_hub(port, Path(folder)))
            floor.append(start_floor())
            print(
                f"round {n + 1}: cold {cold[-1][0]:.2f} s / {cold[-1][1]:.1f} MB, "
                f"warm {warm[-1][0]:.2f} s / {warm[-1][1]:.1f} MB "
                f"(core ready in {warm[-1][2] * 1000:.0f} ms), "
                f"floor app {floor[-1][0]:.2f} s / {floor[-1][1]:.1f} MB"
            )

    def med(rows: list[tuple], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    floor_s, floor_mb = med(floor, 0), med(floor, 1)
    print(f"\nmedians of {rounds} rounds, {ENTITIES} entities")
    print(f"floor: bare aiohttp app importing {', '.join(FLOOR_LIBRARIES)}")
    print(f"  spawn -> first answer {floor_s:.2f} s, RSS {floor_mb:.1f} MB")
    print("start to ready (spawn -> /healthz running with every entity; goal <= 1 s):")
    for label, rows in (("cold", cold), ("warm", warm)):
        print(
            f"  {label}  {med(rows, 0):.2f} s = {med(rows, 0) / floor_s:.2f} x floor "
            f"(+{med(rows, 0) - floor_s:.2f} s)"
        )
    print(
        f"  hub core start (storage, registries, integrations): warm {med(warm, 2) * 1000:.0f} ms"
    )
    print(
        "core start -> ready with every entity (libraries imported first, as Home Assistant "
        "counts its ~2 s start):"
    )
    print(f"  cold  {med(cold, 3):.2f} s    warm  {med(warm, 3):.2f} s")
    print("resident memory after ready (goal <= 60 MB):")
    for label, rows in (("cold", cold), ("warm", warm)):
        print(
            f"  {label}  {med(rows, 1):.1f} MB = floor {floor_mb:.1f} MB "
            f"+ hub's own {med(rows, 1) - floor_mb:.1f} MB"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    main(parser.parse_args().rounds)
