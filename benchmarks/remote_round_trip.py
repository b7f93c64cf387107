"""A remote command's round trip against the same command given locally, in one run, per
broker; and the broker's messages per second for one hub at the default sharing.

One hub (MQTT integration) and an echoing MQTT switch on the home broker; the hub's remote
uplink (``hub.integrations.ethos_remote.uplink``; the store's session answered here) on the
remote broker with the switch and a presence sensor shared; a paired Python browser
(``tests/support/remote_browser.py``). Alternating, ``--samples`` of each:

- local: ``services.async_call`` → MQTT command → device echo → the hub's state;
- remote: the browser seals a command → broker → the uplink opens it, checks sharing and
  the Authorizer, calls the same service → MQTT command → device echo → hub state → sealed
  event → broker → the browser opens the event with the new state ("echo"); the sealed
  reply, which comes before it, is timed too ("reply").

Median and p99 of each in milliseconds and the ratio to local (the issue's goal: remote p99
≤ 3× local on loopback). Then the messages per second the broker carries under the hub's
topics while the shared presence sensor changes ``--rate`` times a second (one event and at
most one snapshot a second per change, plus the 30 s heartbeat), counted by a subscriber.

Brokers (``--broker``, repeatable; default every one available here):
- ``mosquitto``: a private Mosquitto process (TCP_NODELAY on), home and remote;
- ``amqtt``: amqtt in this process, home and remote;
- ``rabbitmq``: a private RabbitMQ node as the remote broker, with store-minted JWTs (the
  rights of REMOTE.md enforced); the home broker is a private Mosquitto (amqtt without it).

    .venv/bin/python -m benchmarks.remote_round_trip [--broker mosquitto|amqtt|rabbitmq]...
        [--samples 300] [--rate 2] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
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

BROKERS = ("mosquitto", "amqtt", "rabbitmq")
PREFIX = "bench_remote"
SWITCH = "switch.bench_plug"
SENSOR = "binary_sensor.bench_presence"
OWNER = Member(1, "owner-sub", "Owner", True)
# How long a reply may still come after its command's echo before it counts as lost.
REPLY_GRACE_S = 5.0
# Small messages both ways: without it Nagle holds the second of two for the peer's delayed
# ACK (~40 ms on Linux); RabbitMQ and the hub's uplink set it already.
MOSQUITTO_SETTINGS = "set_tcp_nodelay true\n"
Login = tuple[str | None, str | None, str | None]  # username, password, client id


class OneOwner:
    """The hub's people as remote access sees them: the owner, allowed to control."""

    def members(self) -> list[Member]:
        return [OWNER]

    def member(self, user_id: int) -> Member | None:
        return OWNER if user_id == OWNER.user_id else None

    def control_refusal(self, user_id: int) -> str | None:
        return None


def mosquitto_available() -> bool:
    return shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()


def available_brokers() -> list[str]:
    from cloud.remote import broker_node

    found = ["amqtt"]
    if mosquitto_available():
        found.insert(0, "mosquitto")
    if broker_node.available():
        found.append("rabbitmq")
    return found


@dataclass
class Brokers:
    """The home broker, the remote one, and how the hub, a browser tab and the counter log in."""

    label: str
    home_url: str
    remote_url: str
    hub_token: str = "bench"  # noqa: S105 (Mosquitto and amqtt take any; RabbitMQ: a JWT)
    hub_client_id: str = ""  # the MQTT client id the hub's token is tied to
    tab_login: Login = (None, None, None)
    observe: Callable[[str], Any] | None = None  # RabbitMQ: a full-rights observer


@contextlib.asynccontextmanager
async def home_broker(use_mosquitto: bool) -> AsyncIterator[str]:
    if use_mosquitto:
        from benchmarks.hub_common import private_mosquitto

        with private_mosquitto(MOSQUITTO_SETTINGS) as port:
            yield f"mqtt://127.0.0.1:{port}"
        return
    from tests.support.mqtt_broker import start_amqtt

    amqtt, port = await start_amqtt()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await amqtt.shutdown()


@contextlib.asynccontextmanager
async def brokers(kind: str, hub_id: str) -> AsyncIterator[Brokers]:
    if kind != "rabbitmq":
        async with home_broker(kind == "mosquitto") as url:
            label = "Mosquitto (own process)" if kind == "mosquitto" else "amqtt (in process)"
            yield Brokers(label, url, url)
        return
    from joserfc.jwk import RSAKey

    from cloud.remote.broker_tokens import mint_hub_token, mint_person_token, new_browser_client_id
    from tests.support.remote_broker import JwksServer, observe, start_remote_broker

    jwks = JwksServer()
    key = RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)
    jwks.publish([key])
    folder = Path(tempfile.mkdtemp(prefix="ethos-bench-rabbitmq-"))
    try:
        node = await asyncio.to_thread(start_remote_broker, folder, jwks.url)
        try:
            hub_token = mint_hub_token(key, hub_id)
            tab_id = new_browser_client_id()
            person = mint_person_token(key, OWNER.user_id, [hub_id], client_id=tab_id)
            async with home_broker(mosquitto_available()) as home_url:
                home = "Mosquitto" if mosquitto_available() else "amqtt"
                yield Brokers(
                    f"RabbitMQ node (home broker: {home})",
                    home_url,
                    node.mqtt_url,
                    hub_token.token,
                    hub_token.client_id or "",
                    (person.subject, person.token, tab_id),
                    lambda topic_filter: observe(node, topic_filter),
                )
        finally:
            await asyncio.to_thread(node.node.stop)
    finally:
        jwks.close()
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.asynccontextmanager
async def client(url: str, login: Login = (None, None, None)) -> AsyncIterator[aiomqtt.Client]:
    address = BrokerAddress.from_url(url)
    username, password, identifier = login
    async with aiomqtt.Client(
        address.host,
        address.port,
        username=username,
        password=password,
        identifier=identifier,
        max_queued_outgoing_messages=0,
        # As browsers' WebSockets and the hub's uplink do: no Nagle wait on small messages.
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
    ) as mqtt:
        yield mqtt


async def echo_device(mqtt: aiomqtt.Client) -> None:
    """The switch: every command comes back at once as its state (a device's confirmation)."""
    await mqtt.subscribe(f"{PREFIX}/plug/set", qos=0)
    async for message in mqtt.messages:
        state = b"ON" if message.payload == b"1" else b"OFF"
        await mqtt.publish(f"{PREFIX}/plug/state", state, qos=0, retain=True)


async def discover(mqtt: aiomqtt.Client, hub: Hub) -> None:
    switch = {
        "name": "Plug", "uniq_id": "bench_plug", "cmd_t": f"{PREFIX}/plug/set",
        "stat_t": f"{PREFIX}/plug/state", "pl_on": "1", "pl_off": "0", "stat_on": "ON",
        "stat_off": "OFF", "dev": {"ids": ["bench-plug"], "name": "Bench"},
    }  # fmt: skip
    sensor = {
        "name": "Presence", "uniq_id": "bench_presence", "stat_t": f"{PREFIX}/presence/state",
        "dev_cla": "occupancy", "dev": {"ids": ["bench-presence"], "name": "Bench"},
    }  # fmt: skip
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


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def echoed(browser: RemoteBrowser, wanted: str) -> Callable[[], bool]:
    def seen() -> bool:
        return any(
            e.get("entity", {}).get("entity_id") == SWITCH
            and e.get("entity", {}).get("state") == wanted
            for e in browser.events
        )

    return seen


@dataclass
class ReplyCount:
    """What became of the remote commands' replies (issue #19: some were refused as replays
    when an event sealed after them overtook them on another topic)."""

    after_echo: int = 0  # came, but after the event of the new state
    lost: int = 0  # never came within REPLY_GRACE_S of the echo (or were refused)
    refused: int = 0  # hub messages the browser refused during the run


async def measure(
    hub: Hub, browser: RemoteBrowser, samples: int
) -> tuple[dict[str, list[float]], ReplyCount]:
    """Local and remote commands alternating, ``samples`` of each; and what became of the
    replies that did not come before their echo."""
    times: dict[str, list[float]] = {"local": [], "remote, reply": [], "remote, echo": []}
    replies = ReplyCount()
    refused_before = browser.refused
    wanted = "off"
    for index in range(samples * 2):
        wanted = "on" if wanted == "off" else "off"
        browser.events.clear()
        started = time.perf_counter()
        if index % 2 == 0:
            await hub.services.async_call("switch", f"turn_{wanted}", {"entity_id": SWITCH})
            await state_reached(hub, SWITCH, wanted)
            times["local"].append(time.perf_counter() - started)
        else:
            command_id, payload = browser.command(SWITCH, f"switch.turn_{wanted}")
            echo = echoed(browser, wanted)
            await browser._session_client().publish(browser.cmd_topic, payload, qos=0)
            await browser.async_wait_for(lambda: command_id in browser.replies or echo())  # noqa: B023
            if command_id in browser.replies:
                times["remote, reply"].append(time.perf_counter() - started)
            await browser.async_wait_for(echo)
            times["remote, echo"].append(time.perf_counter() - started)
            if command_id not in browser.replies:
                try:
                    await browser.async_wait_for(
                        lambda: command_id in browser.replies,  # noqa: B023
                        timeout=REPLY_GRACE_S,
                    )
                    replies.after_echo += 1
                except TimeoutError:
                    replies.lost += 1
        # The event of a local command still travels to the browser: let it land first.
        await browser.async_wait_for(echoed(browser, wanted))
    replies.refused = browser.refused - refused_before
    return times, replies


@contextlib.asynccontextmanager
async def counted(side: Brokers, topic_filter: str) -> AsyncIterator[list[Any]]:
    """Every message the remote broker carries under ``topic_filter``, as it comes."""
    if side.observe is not None:
        async with side.observe(topic_filter) as observed:
            yield observed.messages
        return
    seen: list[Any] = []
    async with client(side.remote_url) as watcher:
        await watcher.subscribe(topic_filter, qos=0)

        async def collect() -> None:
            async for message in watcher.messages:
                seen.append(message.topic.value)

        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def broker_rate(
    side: Brokers, hub_id: str, sensor: aiomqtt.Client, rate: float, seconds: float
) -> float:
    """Messages per second for this hub while the shared sensor changes ``rate`` times a
    second (retained messages replayed to the counter at first are not counted)."""
    async with counted(side, f"ethos-home/{hub_id}/#") as seen:
        await asyncio.sleep(1.0)
        before = len(seen)
        started = time.perf_counter()
        value = False
        while time.perf_counter() - started < seconds:
            value = not value
            await sensor.publish(f"{PREFIX}/presence/state", b"ON" if value else b"OFF")
            await asyncio.sleep(1 / rate)
        return (len(seen) - before) / (time.perf_counter() - started)


async def run(kind: str, args: argparse.Namespace) -> None:
    hub_id = os.urandom(16).hex()
    async with brokers(kind, hub_id) as side:
        with tempfile.TemporaryDirectory() as folder:
            config = HubConfig(
                data_dir=Path(folder),
                integrations=("mqtt",),
                environ={ENV_MQTT_URL: side.home_url, ENV_DISCOVERY_PREFIX: PREFIX},
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
                client_id = side.hub_client_id or f"hub-{hub_id}-bench"
                root = f"ethos-home/{hub_id}"
                return RemoteHubSession(
                    True, side.remote_url, side.hub_token, 3600.0, root, client_id
                )

            uplink = Uplink(hub, hub_id, sharing, gate, pairing, session)
            try:
                async with (
                    client(side.home_url) as device,
                    client(side.remote_url, side.tab_login) as tab,
                ):
                    echo = asyncio.create_task(echo_device(device))
                    await discover(device, hub)
                    await sharing.async_update(enabled=True, entity_ids=[SWITCH, SENSOR])
                    uplink.async_start()
                    await asyncio.wait_for(uplink.connected.wait(), 10)
                    browser = RemoteBrowser(hub_id, "Benchmark")
                    async with browser.async_session(tab):
                        await browser.async_pair(tab, pairing.start_pairing(1).code)
                        await browser.async_wait_for(lambda: browser.snapshot is not None)
                        times, replies = await measure(hub, browser, args.samples)
                    rate = await broker_rate(side, hub_id, device, args.rate, args.seconds)
                    echo.cancel()
            finally:
                await uplink.async_stop(clear=True)
                await hub.async_stop()
    report(side.label, times, replies, rate, args.rate)


def report(
    label: str, times: dict[str, list[float]], replies: ReplyCount, rate: float, changes: float
) -> None:
    one, five, _ = os.getloadavg()
    print(f"\n== {label}; load {one:.2f} / {five:.2f} (1/5 min) on {os.cpu_count()} cores")
    local = times["local"]
    for name, values in times.items():
        line = (
            f"   {name:14s} median {statistics.median(values) * 1e3:7.2f} ms   "
            f"p99 {p99(values) * 1e3:7.2f} ms   ({len(values)} commands)"
        )
        if name != "local":
            line += (
                f"   ×{statistics.median(values) / statistics.median(local):.2f} median, "
                f"×{p99(values) / p99(local):.2f} p99 of local"
            )
        print(line)
    print("   goal: remote (echo) p99 ≤ ×3 local")
    answered = len(times["remote, echo"]) - replies.lost
    print(
        f"   replies: {answered} of {len(times['remote, echo'])} came "
        f"({replies.after_echo} after their echo), {replies.lost} never within "
        f"{REPLY_GRACE_S:g} s; {replies.refused} hub messages refused by the browser"
    )
    print(
        f"   broker messages for this hub: {rate:.2f}/s while a shared sensor changes {changes:g}/s"
    )


async def main(args: argparse.Namespace) -> None:
    found = available_brokers()
    wanted = args.broker or found
    missing = [kind for kind in wanted if kind not in found]
    if missing:
        raise SystemExit(f"not available here: {', '.join(missing)} (found: {', '.join(found)})")
    for kind in wanted:
        await run(kind, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--broker", action="append", choices=BROKERS, help="repeatable; default: all available"
    )
    parser.add_argument("--samples", type=int, default=300, help="commands of each kind")
    parser.add_argument("--rate", type=float, default=2.0, help="sensor changes per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to count")
    asyncio.run(main(parser.parse_args()))
