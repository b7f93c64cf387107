"""A discovery flood against the hub: what is persisted, what gets through, how the web
UI answers. The hub of this tree against the hub of a baseline commit, same run.

Each round, for each variant, a hub (MQTT integration and web app, in its own process,
fresh data folder) on a private Mosquitto (unlimited queues: drops are the hub's own)
first discovers a known device. Then another process publishes JUNK junk sensor configs
as fast as it can, each with a device of its own, from one node id (--spread: each from
a node id of its own), with a real device's config in the middle and the known device's
state every 1000 junk. Meanwhile a thread asks /healthz every 20 ms. Reported: whether
and when the real device appeared, how many of the known device's updates arrived,
persisted devices a few seconds after the flood, discovery messages dropped, and
/healthz latency during the flood (median, max).

The baseline is `git archive <ref> hub` extracted to a temporary folder and run from
there (default ref 8c4f5c3, before the admission of new discovery topics).

    .venv/bin/python -m benchmarks.hub_discovery_flood [--junk 10000] [--rounds 3]
        [--spread] [--baseline-ref 8c4f5c3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from benchmarks.hub_common import free_port, private_mosquitto

ROOT = Path(__file__).resolve().parents[1]

PUBLISHER = r"""
import json, sys, paho.mqtt.client as mqtt
port, prefix, junk, spread = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="flood")
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
def config(name, node):
    return json.dumps({"name": "Temp", "uniq_id": f"{name}_temp", "stat_t": f"{prefix}/{name}/t",
                       "dev": {"ids": [f"{name}-1"], "name": name}})
for n in range(junk):
    node = f"node{n}" if spread else "junk"
    client.publish(f"{prefix}/sensor/{node}/j{n}/config", config(f"junk{n}", node))
    if n % 1000 == 500:
        client.publish(f"{prefix}/known/t", str(n), qos=1)
    if n == junk // 2:
        client.publish(f"{prefix}/sensor/legit/temp/config", config("legit", "legit"), qos=1)
client.publish(f"{prefix}/done", "1", qos=1).wait_for_publish()
client.loop_stop()
client.disconnect()
"""

HUB = r"""
import asyncio, json, statistics, subprocess, sys, threading, time, urllib.request
from pathlib import Path
import aiomqtt
from aiohttp import web
from hub.const import EVENT_STATE_CHANGED
from hub.core.config import HubConfig
from hub.web.app import create_app
from hub.web.keys import HUB_KEY


def mqtt_runtime(hub):
    try:  # this hub: the loaded entry's runtime
        from hub.integrations.mqtt.runtime import mqtt_runtime as runtime_of
    except ImportError:  # an earlier hub (baseline) kept it in hub.data
        return hub.data["mqtt"]
    return runtime_of(hub)


port, web_port, data_dir, junk, spread, publisher = sys.argv[1:7]
prefix = "flood"

async def persisted_devices(hub, hub_dir):
    # Devices on disk: today's JSON registry, or an earlier hub's hub.db table.
    if hasattr(hub.storage, "async_flush"):
        await hub.storage.async_flush()
        registry = hub_dir / "storage" / "core.device_registry.json"
        return len(json.loads(registry.read_text())["data"]["devices"])
    import sqlite3
    with sqlite3.connect(hub_dir / "hub.db") as conn:
        return conn.execute("SELECT count(*) FROM hub_device").fetchone()[0]

def probe(url, stop, latencies):
    while not stop.is_set():
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                response.read()
            latencies.append(time.perf_counter() - started)
        except OSError:
            pass
        stop.wait(0.02)

async def main():
    url = f"mqtt://127.0.0.1:{port}"
    try:  # this hub: the mqtt integration reads its settings from the environment
        config = HubConfig(data_dir=Path(data_dir), integrations=("mqtt",),
                           environ={"MQTT_URL": url, "ETHOS_HUB_DISCOVERY_PREFIX": prefix})
    except TypeError:  # an earlier hub (baseline): they were HubConfig fields
        config = HubConfig(data_dir=Path(data_dir), mqtt_url=url, integrations=("mqtt",),
                           discovery_prefix=prefix)
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(web_port)).start()
    hub = app[HUB_KEY]
    async with aiomqtt.Client("127.0.0.1", int(port)) as client:
        await client.publish(f"{prefix}/sensor/known/temp/config", json.dumps(
            {"name": "Temp", "uniq_id": "known_temp", "stat_t": f"{prefix}/known/t",
             "dev": {"ids": ["known-1"], "name": "known"}}), qos=1)
        while hub.states.get("sensor.known_temp") is None:
            await asyncio.sleep(0.01)
    updates = []
    hub.bus.async_listen(EVENT_STATE_CHANGED, lambda e: e.data["entity_id"] == "sensor.known_temp"
                         and e.data["new_state"] is not None and updates.append(1))
    stop, latencies = threading.Event(), []
    health_url = f"http://127.0.0.1:{web_port}/healthz"
    prober = threading.Thread(target=probe, args=(health_url, stop, latencies))
    prober.start()
    started = time.perf_counter()
    flood = subprocess.Popen([sys.executable, "-c", publisher, port, prefix, junk, spread])
    legit_after = None
    while time.perf_counter() - started < 30:
        if legit_after is None and hub.states.get("sensor.legit_temp") is not None:
            legit_after = time.perf_counter() - started
        if flood.poll() is not None and legit_after is not None:
            break
        await asyncio.sleep(0.01)
    flood_seconds = time.perf_counter() - started
    stop.set()
    await asyncio.get_running_loop().run_in_executor(None, prober.join)
    await asyncio.sleep(3)  # what was queued gets processed
    persisted = await persisted_devices(hub, Path(data_dir) / "hub")
    dropped = mqtt_runtime(hub).discovery.dropped
    await runner.cleanup()
    print(json.dumps({
        "legit_after_s": legit_after, "updates": len(updates),
        "persisted": persisted, "dropped": dropped, "flood_s": flood_seconds,
        "healthz_median_ms": statistics.median(latencies) * 1000 if latencies else None,
        "healthz_max_ms": max(latencies) * 1000 if latencies else None,
    }))

asyncio.run(main())
"""


def extract_baseline(ref: str, folder: Path) -> Path:
    archive = subprocess.run(
        ["git", "archive", "--format=tar", ref, "hub"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_variant(cwd: Path, port: int, junk: int, spread: bool) -> dict:
    with tempfile.TemporaryDirectory() as data_dir:
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                HUB,
                str(port),
                str(free_port()),
                data_dir,
                str(junk),
                "1" if spread else "0",
                PUBLISHER,
            ],
            cwd=cwd,  # `hub` is imported from here: this tree, or the baseline's
            capture_output=True,
            text=True,
            timeout=180,
        )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(junk: int, rounds: int, spread: bool, ref: str) -> None:
    results: dict[str, list[dict]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as folder:
        baseline = extract_baseline(ref, Path(folder))
        shutil.copytree(ROOT / "benchmarks", baseline / "benchmarks")
        with private_mosquitto() as port:
            for n in range(rounds):
                for label, cwd in (("before", baseline), ("after", ROOT)):
                    result = run_variant(cwd, port, junk, spread)
                    results[label].append(result)
                    print(f"round {n + 1} {label:6} {json.dumps(result)}")

    def med(label: str, key: str) -> float | None:
        values = [r[key] for r in results[label] if r[key] is not None]
        return statistics.median(values) if values else None

    source = "each from a node id of its own" if spread else "from one node id"
    print(f"\n{junk} junk discovery configs {source}; medians of {rounds} rounds")
    print(f"{'':28} {'before (' + ref + ')':>16} {'after':>10}")
    for key, label in (
        ("persisted", "persisted devices"),
        ("dropped", "discovery messages dropped"),
        ("updates", f"known updates (of {junk // 1000})"),
        ("legit_after_s", "real device seen after (s)"),
        ("flood_s", "flood until done (s)"),
        ("healthz_median_ms", "/healthz median (ms)"),
        ("healthz_max_ms", "/healthz max (ms)"),
    ):
        before, after = (med(variant, key) for variant in ("before", "after"))
        cells = ["never" if v is None else f"{v:.1f}" for v in (before, after)]
        print(f"{label:28} {cells[0]:>16} {cells[1]:>10}")
    seen = {label: sum(r["legit_after_s"] is not None for r in results[label]) for label in results}
    print(f"real device discovered in {seen['before']}/{rounds} (before), {seen['after']}/{rounds}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--junk", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--spread", action="store_true")
    parser.add_argument("--baseline-ref", default="8c4f5c3")
    args = parser.parse_args()
    main(args.junk, args.rounds, args.spread, args.baseline_ref)
