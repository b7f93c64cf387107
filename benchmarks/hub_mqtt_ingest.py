"""MQTT ingest: state messages/s from the broker into the hub's state machine (200 entities,
history recording on), against a bare aiomqtt subscriber counting the same stream.

Method: a private Mosquitto (max_queued_messages 0) runs on a free port. For each round the
consumer connects and subscribes, then its event loop is held while another process
publishes the whole burst, so the broker queues it; the clock starts when the loop is let
go and stops when the last message has been handled. That measures the consumer alone.
Rounds alternate paho ceiling / bare aiomqtt / hub; medians, ratios and drops are printed.
The hub runs in its own process (byte-compiled, as installed); ``--baseline REF`` adds the
hub of a ``git worktree`` of REF to each round, so this checkout is compared with earlier
code under the same load.

    .venv/bin/python -m benchmarks.hub_mqtt_ingest [--messages 20000] [--rounds 3]
        [--baseline merge-base:main]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt

from benchmarks.hub_common import (
    ENTITIES,
    PUBLISHER,
    ROOT,
    checkout_of,
    compile_bytecode,
    load_averages,
    private_mosquitto,
    publish_burst,
    resolve_ref,
)


async def bare_round(port: int, count: int, prefix: str) -> dict:
    received = 0
    done = asyncio.Event()
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"bare-{prefix}") as client:
        await client.subscribe(f"{prefix}/+/state")
        await asyncio.sleep(0.2)
        publish_burst(port, count, prefix)  # blocks this loop: the broker queues for us
        started = time.perf_counter()

        async def consume() -> None:
            nonlocal received
            async for _message in client.messages:
                received += 1
                if received == count:
                    done.set()
                    return

        task = asyncio.create_task(consume())
        finished = await _wait(done, lambda: received, count)
        elapsed = time.perf_counter() - started
        task.cancel()
    return {"received": received, "seconds": elapsed, "complete": finished}


def paho_round(port: int, count: int, prefix: str) -> dict:
    """The library ceiling: paho-mqtt read 500 packets at a time, counting in a callback."""
    import select

    import paho.mqtt.client as paho

    received = 0

    def on_message(_client: object, _userdata: object, _message: object) -> None:
        nonlocal received
        received += 1

    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"paho-{prefix}")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe(f"{prefix}/+/state")
    for _ in range(3):
        client.loop(0.1)
    publish_burst(port, count, prefix)
    started = last_progress = time.perf_counter()
    while received < count and time.perf_counter() - last_progress < 3:
        before = received
        readable, _, _ = select.select([client.socket()], [], [], 0.5)
        if readable:
            client.loop_read(500)
        if received != before:
            last_progress = time.perf_counter()
    elapsed = time.perf_counter() - started
    client.disconnect()
    return {"received": received, "seconds": elapsed, "complete": received == count}


async def _wait(done: asyncio.Event, progress: Callable[[], int], count: int) -> bool:
    """Wait for all messages, or give up after 3 s without progress (messages were lost)."""
    last, idle_since = -1, time.perf_counter()
    while not done.is_set():
        await asyncio.sleep(0.05)
        now = progress()
        if now != last:
            last, idle_since = now, time.perf_counter()
        elif time.perf_counter() - idle_since > 3:
            return False
    return True


HUB_ROUND = r"""
import asyncio, json, subprocess, sys, time
from pathlib import Path
from hub.const import EVENT_STATE_CHANGED
from hub.core.config import HubConfig
from hub.core.hub import Hub


def mqtt_runtime(hub):
    try:  # this hub: the loaded entry's runtime
        from hub.integrations.mqtt.runtime import mqtt_runtime as runtime_of
    except ImportError:  # an earlier hub (baseline) kept it in hub.data
        return hub.data["mqtt"]
    return runtime_of(hub)


port, count, prefix, data_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
entities, publisher = int(sys.argv[5]), sys.argv[6]

async def run():
    url, ha_prefix = f"mqtt://127.0.0.1:{port}", f"{prefix}_ha"
    try:  # this hub: the mqtt integration reads its settings from the environment
        config = HubConfig(data_dir=Path(data_dir), integrations=("mqtt",),
                           environ={"MQTT_URL": url, "ETHOS_HUB_DISCOVERY_PREFIX": ha_prefix})
    except TypeError:  # an earlier hub (baseline): they were HubConfig fields
        config = HubConfig(data_dir=Path(data_dir), mqtt_url=url, integrations=("mqtt",),
                           discovery_prefix=ha_prefix)
    hub = Hub(config)
    await hub.async_start()
    discovery = mqtt_runtime(hub).discovery
    for i in range(entities):
        await discovery.async_process_discovery_message(
            f"{prefix}_ha/sensor/bench/s{i}/config",
            json.dumps({"name": f"Bench {i}", "uniq_id": f"{prefix}_{i}",
                        "stat_t": f"{prefix}/{i}/state", "unit_of_meas": "W"}))
    assert len(hub.entity_table) == entities
    handled = 0
    def on_state(_event):
        nonlocal handled
        handled += 1
    await asyncio.sleep(0.3)  # subscriptions reach the broker
    hub.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    recorded_before = hub.recorder.recorded
    # Blocks this loop while the burst is sent: the broker queues it for us.
    subprocess.run([sys.executable, "-c", publisher, str(port), str(count), prefix,
                    str(entities)], check=True)
    started = last_progress = time.perf_counter()
    seen = -1
    while handled < count and time.perf_counter() - last_progress < 3:
        await asyncio.sleep(0.05)
        if handled != seen:
            seen, last_progress = handled, time.perf_counter()
    elapsed = time.perf_counter() - started
    deadline = time.perf_counter() + 15  # the history catches up (commits every few s)
    while hub.recorder.recorded - recorded_before < handled and time.perf_counter() < deadline:
        await hub.recorder.async_flush()
        await asyncio.sleep(0.2)
    print(json.dumps({"received": handled, "seconds": elapsed, "complete": handled == count,
                      "recorded": hub.recorder.recorded - recorded_before,
                      "recorder_dropped": hub.recorder.dropped}))
    await hub.async_stop()

asyncio.run(run())
"""


def hub_round(checkout: Path, port: int, count: int, prefix: str, data_dir: Path) -> dict:
    """The hub of ``checkout`` (MQTT only, 200 entities, history on), in its own process."""
    arguments = [str(port), str(count), prefix, str(data_dir), str(ENTITIES), PUBLISHER]
    ran = subprocess.run(
        [sys.executable, "-c", HUB_ROUND, *arguments],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(ran.stdout.strip().splitlines()[-1])


async def main(messages: int, rounds: int, baseline: str | None) -> None:
    print(f"before: {load_averages()}")
    rates: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        checkouts = {"hub": ROOT}
        if baseline:
            checkouts["hub (earlier)"] = stack.enter_context(checkout_of(resolve_ref(baseline)))
        for checkout in checkouts.values():
            compile_bytecode(checkout)
        port = stack.enter_context(private_mosquitto())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for n in range(rounds):
            results = {
                "paho": paho_round(port, messages, f"bench{n}p"),
                "bare": await bare_round(port, messages, f"bench{n}b"),
            }
            for i, (label, checkout) in enumerate(checkouts.items()):
                data_dir = folder / f"r{n}-{i}"
                results[label] = hub_round(checkout, port, messages, f"bench{n}h{i}", data_dir)
            for label, r in results.items():
                rate = r["received"] / r["seconds"]
                rates.setdefault(label, []).append(rate)
                extra = {k: v for k, v in r.items() if k not in ("received", "seconds")}
                print(
                    f"round {n + 1} {label}: {r['received']}/{messages} msgs in "
                    f"{r['seconds']:.3f} s = {rate:,.0f} msg/s {extra}"
                )
                if r["received"] < messages:
                    print(f"round {n + 1} {label}: {messages - r['received']} messages dropped")
    print(f"after:  {load_averages()}")
    median = {label: statistics.median(values) for label, values in rates.items()}
    print(f"\nmedian paho read loop  : {median['paho']:,.0f} msg/s (library ceiling)")
    print(f"median bare subscriber : {median['bare']:,.0f} msg/s (aiomqtt, what the hub uses)")
    print(f"median hub (+history)  : {median['hub']:,.0f} msg/s")
    print(f"ratio hub / bare       : {median['hub'] / median['bare']:.2f} (goal >= 0.70)")
    print(f"ratio hub / paho       : {median['hub'] / median['paho']:.2f}")
    if "hub (earlier)" in median:
        earlier = median["hub (earlier)"]
        print(f"median earlier hub     : {earlier:,.0f} msg/s ({baseline})")
        print(f"ratio hub / earlier    : {median['hub'] / earlier:.2f} (no regression: ~1.0)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="also run the hub of this git ref (merge-base:main)")
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds, args.baseline))
