"""A remote command's round trip against the same command given locally, in one run.

One hub (MQTT integration) and one echoing MQTT switch on a broker; the hub's remote uplink
(``hub.integrations.ethos_remote.uplink``, store session stubbed: the broker needs no token)
on the same broker, with the switch shared; a paired Python browser
(``tests/support/remote_browser.py``). In alternating rounds:

- remote: the browser seals a command → broker → uplink opens it, checks it, calls the
  service → MQTT command → device echoes its state → hub state → sealed event → broker →
  the browser opens the event showing the new state;
- local: ``services.async_call`` → MQTT command → device echo → the hub's state.

p50 and p99 of each in milliseconds, and the ratio (goal: remote p99 ≤ 3× local p99 on
loopback). Then the broker's messages per second for this hub while a presence detector
changes state ``--rate`` times a second at the default sharing (one event and at most one
snapshot a second per change, plus the heartbeat), counted by a wildcard subscriber.

Home broker (hub and devices): amqtt in this process (default), or a private Mosquitto
(``--mosquitto``). Remote broker: the same one (default), or a private RabbitMQ node with
store-minted tokens (``--rabbitmq``, tests/support/remote_broker.py; the rights of REMOTE.md
enforced).

    .venv/bin/python -m benchmarks.remote_roundtrip [--samples 300] [--rounds 5]
        [--mosquitto] [--rabbitmq] [--rate 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiomqtt

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.integrations.ethos_cloud.models import RemoteHubSession
from hub.integrations.ethos_remote.commands import CommandGate
from hub.integrations.ethos_remote.keystore import RemoteKeyStore
from hub.integrations.ethos_remote.members import Member
from hub.integrations.ethos_remote.pairing import RemotePairing
from hub.integrations.ethos_remote.sharing import Sharing
from hub.integrations.ethos_remote.uplink import Uplink
from hub.integrations.mqtt.client import BrokerAddress
from hub.integrations.mqtt.const import ENV_DISCOVERY_PREFIX, ENV_MQTT_URL
from tests.support.remote_browser import RemoteBrowser
from tests.support.waiting import wait_until

PREFIX = "bench_remote"
SWITCH = "switch.bench_plug"
SENSOR = "binary_sensor.bench_presence"
OWNER = Member(1, "owner-sub", "Owner", True)


class OneOwner:
    """The hub's people as remote access sees them: the owner, allowed to control."""

    def members(self) -> list[Member]:
        return [OWNER]

    def member(self, user_id: int) -> Member | None:
        return OWNER if user_id == OWNER.user_id else None

    def control_refusal(self, user_id: int) -> str | None:
        return None


@contextlib.asynccontextmanager
async def home_broker(use_mosquitto: bool) -> AsyncIterator[str]:
    """The home's broker (the hub's devices): amqtt in this process, or Mosquitto."""
    if use_mosquitto:
        from benchmarks.hub_common import private_mosquitto

        with private_mosquitto() as port:
            yield f"mqtt://127.0.0.1:{port}"
        return
    from tests.support.mqtt_broker import start_amqtt

    amqtt, port = await start_amqtt()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await amqtt.shutdown()


@dataclass
class RemoteSide:
    """The remote broker and how the hub, a browser tab and the counter log in to it."""

    url: str
    hub_login: tuple[str, str] = ("", "")  # username (ignored by the Uplink), token
    tab_login: tuple[str | None, str | None, str | None] = (None, None, None)  # user, pw, id
    observe: Callable[[str], Any] | None = None  # RabbitMQ: a full-rights observer
    hub_client_id: str = ""  # the MQTT client id the hub's token is tied to (any: "")


@contextlib.asynccontextmanager
async def remote_broker(rabbitmq: bool, home_url: str, hub_id: str) -> AsyncIterator[RemoteSide]:
    """The home's broker again (default), or a private RabbitMQ node with store tokens."""
    if not rabbitmq:
        yield RemoteSide(home_url)
        return
    from joserfc.jwk import RSAKey

    from cloud.remote.broker_tokens import (
        mint_hub_token,
        mint_person_token,
        new_browser_client_id,
    )
    from tests.support.remote_broker import JwksServer, observe, start_remote_broker

    jwks = JwksServer()
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    jwks.publish([key])
    folder = Path(tempfile.mkdtemp(prefix="ethos-bench-rabbitmq-"))
    node = await asyncio.to_thread(start_remote_broker, folder, jwks.url)
    try:
        hub_token = mint_hub_token(key, hub_id)
        tab_id = new_browser_client_id()
        person = mint_person_token(key, OWNER.user_id, [hub_id], client_id=tab_id)
        yield RemoteSide(
            node.mqtt_url,
            (hub_token.subject, hub_token.token),
            (person.subject, person.token, tab_id),
            lambda topic_filter: observe(node, topic_filter),
            hub_client_id=hub_token.client_id or "",
        )
    finally:
        await asyncio.to_thread(node.node.stop)
        jwks.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def client(
    url: str, login: tuple[str | None, str | None, str | None] = (None, None, None)
) -> AsyncIterator[aiomqtt.Client]:
    address = BrokerAddress.from_url(url)
    username, password, identifier = login
    async with aiomqtt.Client(
        address.host,
        address.port,
        username=username,
        password=password,
        identifier=identifier,
        max_queued_outgoing_messages=0,
    ) as mqtt:
        yield mqtt


async def echo_device(mqtt: aiomqtt.Client) -> None:
    """The switch: every command comes back at once as its state."""
    await mqtt.subscribe(f"{PREFIX}/plug/set", qos=0)
    async for message in mqtt.messages:
        state = b"ON" if message.payload == b"1" else b"OFF"
        await mqtt.publish(f"{PREFIX}/plug/state", state, qos=0, retain=True)


async def discover(mqtt: aiomqtt.Client, hub: Hub) -> None:
    import json

    switch = {
        "name": "Plug",
        "uniq_id": "bench_plug",
        "cmd_t": f"{PREFIX}/plug/set",
        "stat_t": f"{PREFIX}/plug/state",
        "pl_on": "1",
        "pl_off": "0",
        "stat_on": "ON",
        "stat_off": "OFF",
        "dev": {"ids": ["bench-plug"], "name": "Bench"},
    }
    sensor = {
        "name": "Presence",
        "uniq_id": "bench_presence",
        "stat_t": f"{PREFIX}/presence/state",
        "dev_cla": "occupancy",
        "dev": {"ids": ["bench-presence"], "name": "Bench"},
    }
    await mqtt.publish(f"{PREFIX}/switch/plug/power/config", json.dumps(switch), retain=True)
    await mqtt.publish(f"{PREFIX}/binary_sensor/pres/occ/config", json.dumps(sensor), retain=True)
    await mqtt.publish(f"{PREFIX}/plug/state", b"OFF", retain=True)
    await mqtt.publish(f"{PREFIX}/presence/state", b"OFF", retain=True)
    await wait_until(lambda: hub.states.get(SWITCH) and hub.states.get(SENSOR), 20)


async def state_reached(hub: Hub, entity_id: str, wanted: str) -> None:
    if (current := hub.states.get(entity_id)) is not None and current.state == wanted:
        return
    reached = asyncio.get_running_loop().create_future()

    def listener(event: Any) -> None:
        new = event.data.get("new_state")
        matches = event.data["entity_id"] == entity_id and new is not None
        if matches and new.state == wanted and not reached.done():
            reached.set_result(None)

    unlisten = hub.bus.async_listen("state_changed", listener)
    try:
        async with asyncio.timeout(10):
            await reached
    finally:
        unlisten()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def browser_sees(browser: RemoteBrowser, wanted: str):  # type: ignore[no-untyped-def]
    def seen() -> bool:
        return any(
            e.get("entity", {}).get("entity_id") == SWITCH
            and e.get("entity", {}).get("state") == wanted
            for e in browser.events
        )

    return seen


async def measure(hub: Hub, browser: RemoteBrowser, samples: int, rounds: int) -> dict:
    results: dict[str, list[float]] = {"remote": [], "local": []}
    wanted = "off"
    per_round = max(1, samples // rounds)
    for _round in range(rounds):
        for kind in ("remote", "local"):
            for _ in range(per_round):
                wanted = "on" if wanted == "off" else "off"
                service = f"switch.turn_{wanted}"
                browser.events.clear()
                started = time.perf_counter()
                if kind == "remote":
                    _, payload = browser.command(SWITCH, service)
                    await browser._session_client().publish(browser.cmd_topic, payload, qos=0)
                    await browser.async_wait_for(browser_sees(browser, wanted))
                else:
                    await hub.services.async_call("switch", f"turn_{wanted}", {"entity_id": SWITCH})
                    await state_reached(hub, SWITCH, wanted)
                results[kind].append(time.perf_counter() - started)
                # The remote path's event may trail the hub's state: let it land first.
                await browser.async_wait_for(browser_sees(browser, wanted))
    return results


@contextlib.asynccontextmanager
async def counted(remote: RemoteSide, topic_filter: str) -> AsyncIterator[list[tuple[str, bool]]]:
    """(topic, retained) of every message the broker carries under ``topic_filter``."""
    seen: list[tuple[str, bool]] = []
    if remote.observe is not None:
        async with remote.observe(topic_filter) as observed:
            yield observed.messages  # type: ignore[misc]
        return
    async with client(remote.url) as watcher:
        await watcher.subscribe(topic_filter, qos=0)

        async def collect() -> None:
            async for message in watcher.messages:
                seen.append((message.topic.value, bool(message.retain)))

        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def broker_rate(
    remote: RemoteSide, hub_id: str, sensor: aiomqtt.Client, rate: float, seconds: float
) -> float:
    """Messages per second the broker carries for this hub while the shared sensor changes
    ``rate`` times a second (retained messages replayed to the counter not counted)."""
    async with counted(remote, f"ethos-home/{hub_id}/#") as seen:
        await asyncio.sleep(1.0)
        before = len(seen)
        started = time.perf_counter()
        value = False
        while time.perf_counter() - started < seconds:
            value = not value
            await sensor.publish(f"{PREFIX}/presence/state", b"ON" if value else b"OFF")
            await asyncio.sleep(1 / rate)
        elapsed = time.perf_counter() - started
        return (len(seen) - before) / elapsed


async def main(args: argparse.Namespace) -> None:
    hub_id = os.urandom(16).hex()
    async with (
        home_broker(args.mosquitto) as url,
        remote_broker(args.rabbitmq, url, hub_id) as remote,
    ):
        with tempfile.TemporaryDirectory() as folder:
            config = HubConfig(
                data_dir=Path(folder),
                integrations=("mqtt",),
                environ={ENV_MQTT_URL: url, ENV_DISCOVERY_PREFIX: PREFIX},
            )
            hub = Hub(config)
            await hub.async_start()
            keystore = RemoteKeyStore(hub.storage)
            await keystore.async_load()
            pairing = RemotePairing(keystore)
            sharing = Sharing(hub.storage)
            await sharing.async_load()
            gate = CommandGate(hub, sharing, OneOwner(), pairing)

            async def session(_fresh: bool) -> RemoteHubSession:
                token = remote.hub_login[1] or "bench"
                client_id = remote.hub_client_id or f"hub-{hub_id}-bench"
                root = f"ethos-home/{hub_id}"
                return RemoteHubSession(True, remote.url, token, 3600.0, root, client_id)

            uplink = Uplink(hub, hub_id, sharing, gate, pairing, session)
            try:
                async with client(url) as device, client(remote.url, remote.tab_login) as tab:
                    echo = asyncio.create_task(echo_device(device))
                    await discover(device, hub)
                    await sharing.async_update(enabled=True, entity_ids=[SWITCH, SENSOR])
                    uplink.async_start()
                    await asyncio.wait_for(uplink.connected.wait(), 10)
                    browser = RemoteBrowser(hub_id, "Benchmark")
                    async with browser.async_session(tab):
                        await browser.async_pair(tab, pairing.start_pairing(1).code)
                        await browser.async_wait_for(lambda: browser.snapshot is not None)
                        times = await measure(hub, browser, args.samples, args.rounds)
                    rate = await broker_rate(remote, hub_id, device, args.rate, args.seconds)
                    echo.cancel()
            finally:
                await uplink.async_stop(clear=True)
                await hub.async_stop()

    one, five, _ = os.getloadavg()
    home = "Mosquitto (own process)" if args.mosquitto else "amqtt (in process)"
    print(f"Home broker: {home}; remote broker: {'RabbitMQ node' if args.rabbitmq else home}")
    print(f"Load average {one:.2f} / {five:.2f} (1/5 min) on {os.cpu_count()} cores")
    print(f"Round trip, {len(times['local'])} samples each, milliseconds:")
    for kind in ("local", "remote"):
        values = times[kind]
        print(
            f"   {kind:7s} p50 {percentile(values, 0.5) * 1e3:7.2f}   "
            f"p99 {percentile(values, 0.99) * 1e3:7.2f}   "
            f"median {statistics.median(values) * 1e3:7.2f}"
        )
    p99 = percentile(times["remote"], 0.99) / percentile(times["local"], 0.99)
    p50 = percentile(times["remote"], 0.5) / percentile(times["local"], 0.5)
    print(f"   remote / local: p50 {p50:.2f}x, p99 {p99:.2f}x (goal p99 <= 3x)")
    print(
        f"Broker messages for this hub: {rate:.1f}/s while a shared sensor changes "
        f"{args.rate:g}/s (events, snapshots, heartbeat)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mosquitto", action="store_true", help="home broker: Mosquitto")
    parser.add_argument("--rabbitmq", action="store_true", help="remote broker: RabbitMQ")
    parser.add_argument("--rate", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
