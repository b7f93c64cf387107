"""MQTT ingest with broker-enforced identity against the anonymous set-up, in the same run.

Two private Mosquittos (queues large enough that nothing is dropped): one anonymous, one
with the dynamic-security plugin where the hub logs in as the plugin's admin (with its
ethos-hub role) and the publisher as an Ethos device on the account the hub made for it,
so every message passes the device's publish ACLs and the hub's receive ACLs. Each round
starts a fresh hub (200 sensor entities on ``ethos/<serial>/<i>/state``, history on),
holds its loop while another process publishes the whole burst, then times the hub
draining it (as benchmarks/hub_mqtt_ingest.py does). Rounds alternate anonymous / enforced;
medians and the ratio enforced / anonymous are printed (goal >= 0.9).

    .venv/bin/python -m benchmarks.hub_mqtt_identity [--messages 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from benchmarks.hub_common import ENTITIES, free_port, running_broker
from benchmarks.hub_mqtt_ingest import _wait
from ethos import dynsec_broker
from hub.const import EVENT_STATE_CHANGED
from hub.core.config import HubConfig
from hub.core.events import Event
from hub.core.hub import Hub
from hub.integrations.ethos_cloud.broker_clients import device_broker_password
from hub.integrations.mqtt.const import ENV_MQTT_URL
from hub.integrations.mqtt.runtime import mqtt_runtime

SERIAL = "BENCH-000001"

PUBLISHER = r"""
import sys, paho.mqtt.client as mqtt
port, count, serial, topics, user, password = sys.argv[1:7]
port, count, topics = int(port), int(count), int(topics)
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-device")
if user:
    client.username_pw_set(user, password)
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
names = [f"ethos/{serial}/{i}/state" for i in range(topics)]
for n in range(count):
    client.publish(names[n % topics], str(n), qos=0)
client.publish(f"ethos/{serial}/done", "1", qos=1).wait_for_publish()
client.loop_stop()
client.disconnect()
"""


def publish_burst(port: int, count: int, user: str = "", password: str = "") -> None:
    subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(port), str(count), SERIAL, str(ENTITIES), user,
         password],
        check=True,
    )  # fmt: skip


# Both brokers queue this much for a subscriber that falls behind (nothing is dropped).
# Not 0 ("no limit"): with it, Mosquitto 2.0.11 drops a dynamic-security admin at once.
QUEUE_SETTINGS = ("max_queued_messages 1000000", "max_queued_bytes 0")


@contextlib.contextmanager
def mosquitto(admin_password: str | None) -> Iterator[int]:
    """An anonymous Mosquitto (None), or one with dynamic security and that admin password."""
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        if admin_password is None:
            conf = Path(folder) / "mosquitto.conf"
            conf.write_text(
                "\n".join((f"listener {port} 127.0.0.1", "allow_anonymous true",
                           "persistence false", *QUEUE_SETTINGS)) + "\n"
            )  # fmt: skip
            argv = [dynsec_broker.mosquitto_binary() or "mosquitto", "-c", str(conf)]
        else:
            conf = dynsec_broker.prepare(
                Path(folder), "127.0.0.1", port, admin_password, extra_settings=QUEUE_SETTINGS
            )
            argv = dynsec_broker.command(conf)
        with running_broker(argv, port):
            yield port


async def hub_round(url: str, port: int, count: int, data_dir: Path, secret: bytes | None) -> dict:
    hub = Hub(HubConfig(data_dir=data_dir, integrations=("mqtt",), environ={ENV_MQTT_URL: url}))
    await hub.async_start()
    runtime = mqtt_runtime(hub)
    user = password = ""
    if secret is not None:  # the hub makes the device's account, as after a store sync
        deadline = time.monotonic() + 15
        while not runtime.identity.enforced:
            if time.monotonic() > deadline:
                raise RuntimeError(f"identity not enforced: {runtime.identity.problem}")
            await asyncio.sleep(0.05)
        user, password = SERIAL, device_broker_password(secret)
        await runtime.identity.async_put_device(SERIAL, password, "bench device")
    for i in range(ENTITIES):
        await runtime.discovery.async_process_discovery_message(
            f"homeassistant/sensor/{SERIAL}/s{i}/config",
            json.dumps({"name": f"Bench {i}", "uniq_id": f"bench_{i}",
                        "stat_t": f"ethos/{SERIAL}/{i}/state", "unit_of_meas": "W"}),
        )  # fmt: skip
    handled = 0
    done = asyncio.Event()

    def on_state(_event: Event) -> None:
        nonlocal handled
        handled += 1
        if handled == count:
            done.set()

    await asyncio.sleep(0.3)  # subscriptions reach the broker
    hub.bus.async_listen(EVENT_STATE_CHANGED, on_state)
    publish_burst(port, count, user, password)  # blocks this loop: the broker queues for us
    started = time.perf_counter()
    finished = await _wait(done, lambda: handled, count)
    elapsed = time.perf_counter() - started
    await hub.recorder.async_flush()  # waits for a commit in flight, then writes the rest
    await hub.async_stop()
    return {"received": handled, "seconds": elapsed, "complete": finished}


async def main(messages: int, rounds: int) -> None:
    admin_password = secrets.token_urlsafe(18)
    secret = secrets.token_bytes(32)
    anonymous, enforced = [], []
    with (
        mosquitto(None) as open_port,
        mosquitto(admin_password) as dynsec_port,
        tempfile.TemporaryDirectory() as folder,
    ):
        admin_url = (
            f"mqtt://{dynsec_broker.ADMIN_USER}:{quote(admin_password, safe='')}"
            f"@127.0.0.1:{dynsec_port}"
        )
        for n in range(rounds):
            a = await hub_round(
                f"mqtt://127.0.0.1:{open_port}", open_port, messages, Path(folder) / f"a{n}", None
            )
            e = await hub_round(admin_url, dynsec_port, messages, Path(folder) / f"e{n}", secret)
            for label, r in (("anonymous", a), ("enforced ", e)):
                rate = r["received"] / r["seconds"]
                print(
                    f"round {n + 1} {label}: {r['received']}/{messages} msgs in "
                    f"{r['seconds']:.3f} s = {rate:,.0f} msg/s complete={r['complete']}"
                )
            anonymous.append(a["received"] / a["seconds"])
            enforced.append(e["received"] / e["seconds"])
    a_median, e_median = statistics.median(anonymous), statistics.median(enforced)
    print(f"\nmedian hub ingest, anonymous broker          : {a_median:,.0f} msg/s")
    print(f"median hub ingest, dynamic security + ACLs   : {e_median:,.0f} msg/s")
    print(f"ratio enforced / anonymous                   : {e_median / a_median:.2f} (goal >= 0.9)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.messages, args.rounds))
