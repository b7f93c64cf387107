"""Hub start-to-ready time and resident memory with 200 entities, against a bare process.

A private Mosquitto holds 200 retained discovery configs (sensors, with retained states).
`ethos hub serve` is started as its own process, cold (empty data folder) and then warm
(same folder); "ready" is /healthz answering `running` with all 200 entities. RSS is read
from /proc after ready. The baseline is a bare Python process that imports the same
libraries (aiohttp, aiomqtt, SQLAlchemy, Jinja2, pydantic) and does nothing else.

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
from pathlib import Path

import paho.mqtt.client as paho

from benchmarks.hub_common import ENTITIES, free_port, private_mosquitto

PREFIX = "bench_ha"
# `ethos hub serve` as the CLI runs it, limited to the MQTT integration so the figure is
# about the core and MQTT (other integrations in the tree have their own figures).
SERVE = (
    "import dataclasses, sys;from aiohttp import web;from hub.core.config import HubConfig;"
    "from hub.web.app import create_app;"
    "config = dataclasses.replace(HubConfig.from_env(), integrations=('mqtt',));"
    "web.run_app(create_app(config), host='127.0.0.1', port=int(sys.argv[1]), print=None)"
)
BARE = (
    "import aiohttp, aiohttp_jinja2, aiomqtt, sqlalchemy, sqlmodel, jinja2, pydantic, yaml;"
    "print('ready', flush=True);import time;time.sleep(60)"
)


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
        client.publish(f"{PREFIX}/sensor/bench/s{i}/config", json.dumps(config), qos=1, retain=True)
        client.publish(f"bench/{i}/state", str(i), qos=1, retain=True).wait_for_publish()
    client.loop_stop()
    client.disconnect()


def start_hub(port: int, data_dir: Path) -> tuple[float, float, float]:
    """(seconds to ready, RSS MB, hub's own started_in seconds)."""
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
        while True:
            if proc.poll() is not None or time.perf_counter() - started > 30:
                raise RuntimeError("hub did not become ready")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=1) as r:
                    health = json.load(r)
                if health["state"] == "running" and health["entities"] >= ENTITIES:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        ready = time.perf_counter() - started
        time.sleep(1.0)  # let it settle before reading memory
        return ready, rss_mb(proc.pid), float(health["started_in"])
    finally:
        proc.terminate()
        proc.wait(10)


def start_bare() -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", BARE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        ready = time.perf_counter() - started
        time.sleep(1.0)
        return ready, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def main(rounds: int) -> None:
    cold, warm, bare = [], [], []
    with private_mosquitto() as port:
        seed_broker(port)
        for n in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                cold.append(start_hub(port, Path(folder)))
                warm.append(start_hub(port, Path(folder)))
            bare.append(start_bare())
            print(
                f"round {n + 1}: cold {cold[-1][0]:.2f} s / {cold[-1][1]:.1f} MB, "
                f"warm {warm[-1][0]:.2f} s / {warm[-1][1]:.1f} MB "
                f"(core ready in {warm[-1][2] * 1000:.0f} ms), "
                f"bare imports {bare[-1][0]:.2f} s / {bare[-1][1]:.1f} MB"
            )

    def med(rows: list[tuple], i: int) -> float:
        return statistics.median(r[i] for r in rows)

    print(f"\nstart to ready with {ENTITIES} entities (process start -> /healthz):")
    print(f"  cold  {med(cold, 0):.2f} s   warm  {med(warm, 0):.2f} s   (goal <= 1 s)")
    print(
        f"  hub core start (storage, registries, integrations): warm {med(warm, 2) * 1000:.0f} ms"
    )
    print(f"  bare process importing the same libraries: {med(bare, 0):.2f} s")
    print(
        f"resident memory after start: cold {med(cold, 1):.1f} MB, warm {med(warm, 1):.1f} MB "
        f"(goal <= 60 MB); bare imports {med(bare, 1):.1f} MB; "
        f"hub's own share {med(warm, 1) - med(bare, 1):.1f} MB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    main(parser.parse_args().rounds)
