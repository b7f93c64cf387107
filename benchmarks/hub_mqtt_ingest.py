"""MQTT ingest: state messages/s from the broker into the hub's state machine (200 entities,
history recording on), against a bare aiomqtt subscriber counting the same stream.

Method: a private Mosquitto (max_queued_messages 0) runs on a free port. For each round the
consumer connects and subscribes, then its event loop is held while another process
publishes the whole burst, so the broker queues it; the clock starts when the loop is let
go and stops when the last message has been handled. That measures the consumer alone.
Rounds alternate paho ceiling / bare aiomqtt / hub; medians, ratios and drops are printed.

    .venv/bin/python -m benchmarks.hub_mqtt_ingest [--messages 20000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt

from benchmarks.hub_common import ENTITIES, private_mosquitto, publish_burst
from hub.const import EVENT_STATE_CHANGED, HISTORY_COMMIT_INTERVAL_S
from hub.core.config import HubConfig
from hub.core.events import Event
from hub.core.hub import Hub


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


async def hub_round(port: int, count: int, prefix: str, data_dir: Path) -> dict:
    config = HubConfig(
        data_dir=data_dir,
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        integrations=("mqtt",),
        discovery_prefix=f"{prefix}_ha",
    )
    hub = Hub(config)
    await hub.async_start()
    discovery = hub.data["mqtt"].discovery
    for i in range(ENTITIES):
        await discovery.async_process_discovery_message(
            f"{prefix}_ha/sensor/bench/s{i}/config",
            json.dumps(
                {
                    "name": f"Bench {i}",
                    "uniq_id": f"{prefix}_{i}",
                    "stat_t": f"{prefix}/{i}/state",
                    "unit_of_meas": "W",
                }
            ),
        )
    assert len(hub.entity_table) == ENTITIES
    handled = 0
    done = asyncio.Event()

    def on_state(_event: Event) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    await asyncio.sleep(0.3)  # subscriptions reach the broker
    hub.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    recorded_before = hub.recorder.recorded
    publish_burst(port, count, prefix)
    started = time.perf_counter()
    finished = await _wait(done, lambda: handled, count)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(HISTORY_COMMIT_INTERVAL_S + 0.3)  # let an in-flight commit land
    await hub.recorder.async_flush()
    recorded = hub.recorder.recorded - recorded_before
    result = {
        "received": handled,
        "seconds": elapsed,
        "complete": finished,
        "recorded": recorded,
        "recorder_dropped": hub.recorder.dropped,
    }
    await hub.async_stop()
    return result


async def main(messages: int, rounds: int) -> None:
    bare, hubbed, ceiling = [], [], []
    with private_mosquitto() as port, tempfile.TemporaryDirectory() as folder:
        for n in range(rounds):
            p = paho_round(port, messages, f"bench{n}p")
            b = await bare_round(port, messages, f"bench{n}b")
            h = await hub_round(port, messages, f"bench{n}h", Path(folder) / f"r{n}")
            for label, r in (("paho", p), ("bare", b), ("hub ", h)):
                rate = r["received"] / r["seconds"]
                extra = {k: v for k, v in r.items() if k not in ("received", "seconds")}
                print(
                    f"round {n + 1} {label}: {r['received']}/{messages} msgs in "
                    f"{r['seconds']:.3f} s = {rate:,.0f} msg/s {extra}"
                )
            ceiling.append(p["received"] / p["seconds"])
            bare.append(b["received"] / b["seconds"])
            hubbed.append(h["received"] / h["seconds"])
            lost = sum(messages - r["received"] for r in (p, b, h))
            if lost:
                print(f"round {n + 1}: {lost} messages not delivered (dropped)")
    bare_median, hub_median = statistics.median(bare), statistics.median(hubbed)
    print(f"\nmedian paho read loop  : {statistics.median(ceiling):,.0f} msg/s (library ceiling)")
    print(f"median bare subscriber : {bare_median:,.0f} msg/s (aiomqtt, what the hub uses)")
    print(f"median hub (+history)  : {hub_median:,.0f} msg/s")
    print(f"ratio hub / bare       : {hub_median / bare_median:.2f} (goal >= 0.70)")
    print(f"ratio hub / paho       : {hub_median / statistics.median(ceiling):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds))
