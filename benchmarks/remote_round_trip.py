"""A remote command's round trip against the same command given locally, in one run.

Local: ``switch.turn_on/off`` called on the hub until the device's echo sets the state.
Remote: a paired browser (tests/support/remote_browser.py) seals the command, the broker
carries it, the hub opens it, checks sharing and the Authorizer, runs the same service, the
device echoes, and the browser opens the sealed event with the new state. Both on loopback,
one in-process broker (amqtt), alternating, ``--rounds`` each: median, p99 and the ratio
(the issue's goal: remote p99 ≤ 3× local).

    .venv/bin/python -m benchmarks.remote_round_trip [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiomqtt
from aiohttp.test_utils import TestClient, TestServer

from firmware.simulator.firmware_path import ensure_firmware_importable

ensure_firmware_importable()

from benchmarks.hub_common import private_mosquitto  # noqa: E402
from hub.web.app import create_app  # noqa: E402
from tests.hub.common import make_config  # noqa: E402
from tests.hub.ethos_cloud.identity import link  # noqa: E402
from tests.hub.ethos_remote.home import (  # noqa: E402
    PairedBrowser,
    RemoteHome,
    RemoteStore,
    _open_fresh,
)
from tests.hub.web.conftest import sign_in  # noqa: E402
from tests.support.mqtt_broker import start_amqtt  # noqa: E402
from tests.support.waiting import wait_until  # noqa: E402

PREFIX = "bench_remote"
PLUG = "switch.bench_plug"
POLL_S = 0.0002


async def echo_device(url_port: int) -> None:
    """The plug: every command comes back as its state (a real device's confirmation)."""
    async with aiomqtt.Client("127.0.0.1", url_port) as client:
        config = {
            "name": "Plug", "uniq_id": "bench_plug", "cmd_t": f"{PREFIX}/plug/set",
            "stat_t": f"{PREFIX}/plug/state", "dev": {"ids": ["bench"], "name": "Bench"},
        }  # fmt: skip
        await client.publish(f"{PREFIX}/switch/bench/plug/config", json.dumps(config), retain=True)
        await client.subscribe(f"{PREFIX}/plug/set")
        async for message in client.messages:
            await client.publish(f"{PREFIX}/plug/state", message.payload)


def hub_has_plug(home: RemoteHome) -> bool:
    return home.hub.states.get(PLUG) is not None


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def main(rounds: int, mosquitto: bool) -> None:
    if mosquitto:
        # Small messages in both directions: without it Nagle holds a second one for the
        # client's delayed ACK (~40 ms on Linux), as RabbitMQ's nodelay default avoids.
        with private_mosquitto("set_tcp_nodelay true\n") as port:
            await run(rounds, port, None)
    else:
        broker, port = await start_amqtt()
        await run(rounds, port, broker)


async def run(rounds: int, port: int, broker: object | None) -> None:
    url = f"mqtt://127.0.0.1:{port}"
    store = RemoteStore(hub_id=secrets.token_hex(16), broker_url=url)
    store_server = TestServer(store.app())
    await store_server.start_server()
    cloud_url = str(store_server.make_url("")).rstrip("/")
    device = asyncio.create_task(echo_device(port))
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(
            Path(folder), integrations=("mqtt", "ethos_cloud", "ethos_remote"),
            mqtt_url=url, discovery_prefix=PREFIX, cloud_url=cloud_url,
        )  # fmt: skip
        client = TestClient(TestServer(create_app(config)))
        await client.start_server()
        try:
            home = RemoteHome(client, store, store.hub_id, url)
            home.remote.reconcile_interval = 0.1
            await sign_in(client, "owner-sub", "Olivia")
            await link(home.hub, cloud_url, client_id=store.hub_id)
            await wait_until(lambda: hub_has_plug(home))
            await home.share(PLUG)
            await home.wait_connected()
            async with (
                home.browser(await home.pairing_code()) as phone,
                aiomqtt.Client("127.0.0.1", port) as sender,
            ):
                local, replied, echoed = await measure(home, phone, sender, rounds)
        finally:
            await client.close()
            device.cancel()
            await store_server.close()
            if broker is not None:
                await broker.shutdown()  # type: ignore[attr-defined]
    rows = (("local, to the echo", local), ("remote, to the reply", replied),
            ("remote, to the echo", echoed))  # fmt: skip
    for name, values in rows:
        print(
            f"{name:21}  median {statistics.median(values) * 1000:7.2f} ms   "
            f"p99 {p99(values) * 1000:7.2f} ms   ({len(values)} commands)"
        )
    for name, remote in (("reply", replied), ("echo", echoed)):
        print(
            f"remote ({name}) / local: median ×"
            f"{statistics.median(remote) / statistics.median(local):.2f}, "
            f"p99 ×{p99(remote) / p99(local):.2f} (goal: p99 ≤ ×3)"
        )


def _waiter(phone: PairedBrowser, topic: str, match: Callable[[dict], bool]) -> Callable[[], bool]:
    """True once a message on ``topic`` that arrived after now opens to a matching body."""
    seen = len(phone.listener.on(topic))

    def arrived() -> bool:
        nonlocal seen
        heard = phone.listener.on(topic)
        fresh, seen = heard[seen:], len(heard)  # each message opened once
        return any(match(_open_fresh(phone.browser, topic, h.payload)) for h in fresh)

    return arrived


async def measure(
    home: RemoteHome, phone: PairedBrowser, sender: aiomqtt.Client, rounds: int
) -> tuple[list[float], list[float], list[float]]:
    """``sender``: the browser's publishing connection (the listener only receives)."""
    hub = home.hub
    event_topic = f"ethos-home/{home.hub_id}/event"
    local: list[float] = []
    replied: list[float] = []
    echoed: list[float] = []

    async def until(predicate: Callable[[], bool]) -> None:
        while not predicate():  # noqa: ASYNC110 (the broker, hub and browser share the loop)
            await asyncio.sleep(POLL_S)

    for index in range(rounds * 2):
        want = "on" if hub.states.get(PLUG).state != "on" else "off"
        service = f"turn_{want}"
        if index % 2 == 0:
            started = time.perf_counter()
            await hub.services.async_call("switch", service, {"entity_id": PLUG})
            await until(lambda: hub.states.get(PLUG).state == want)  # noqa: B023
            local.append(time.perf_counter() - started)
            continue
        command_id, payload = phone.browser.command(PLUG, f"switch.{service}")
        reply = _waiter(phone, phone.browser.reply_topic, lambda b: b.get("id") == command_id)  # noqa: B023
        event = _waiter(phone, event_topic, lambda b: b["entity"]["state"] == want)  # noqa: B023
        started = time.perf_counter()
        await sender.publish(phone.browser.cmd_topic, payload, qos=0)
        await until(reply)
        replied.append(time.perf_counter() - started)
        await until(event)
        echoed.append(time.perf_counter() - started)
    return local, replied, echoed


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--mosquitto", action="store_true", help="a private Mosquitto instead of amqtt"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.mosquitto))
