"""Time from a presence detector's first discovery message to its verified adoption.

A private Mosquitto, a real Hub (mqtt + ethos_cloud, linked, owned list from its sealed
cache: the store is down, as it may be) and the firmware's PresenceDevice with simulated
hardware (the same one `ethos device simulate` runs). Each round a new unit is switched
on; the clock starts when its first discovery config reaches the broker and stops when the
hub has written "verified" on the device. Baseline, in the same run: the bare claim
exchange (challenge published, the same device's answer received) over the same broker,
which is the floor any adoption must pay.

    .venv/bin/python -m benchmarks.hub_adoption [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt

from benchmarks.hub_common import private_mosquitto
from firmware.simulator.firmware_path import ensure_firmware_importable
from hub.const import EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.config import HubConfig
from hub.core.events import Event
from hub.core.hub import Hub
from hub.integrations.ethos_cloud import async_secret_box
from hub.integrations.ethos_cloud.const import DOMAIN, EXTRA_KEY
from hub.integrations.mqtt.const import ENV_DISCOVERY_PREFIX, ENV_MQTT_URL

ensure_firmware_importable()

from tests.firmware.mqtt_support import DeviceThread  # noqa: E402

PREFIX = "bench"


def unit(serial: str, secret: str) -> dict[str, str]:
    return {"serial": serial, "sku": "EPD-1", "name": "Presence", "claim_secret": secret}


async def linked_hub(data_dir: Path, port: int, units: list[dict[str, str]]) -> Hub:
    config = HubConfig(
        data_dir=data_dir,
        cloud_url="http://127.0.0.1:9",  # nothing listens: owned list from the cache
        environ={ENV_MQTT_URL: f"mqtt://127.0.0.1:{port}", ENV_DISCOVERY_PREFIX: PREFIX},
        integrations=("mqtt", "ethos_cloud"),
    )
    hub = Hub(config)
    await hub.async_start()
    box = await async_secret_box(hub)
    data = {
        "cloud_url": config.cloud_url,
        "client_id": "bench",
        "client_secret_enc": box.seal("bench"),
        "redirect_uri": "http://127.0.0.1:8181/auth/callback",
        "refresh_token_enc": box.seal("bench"),
        "account_subject": "1",
        "account_email": "owner@example.org",
        "owned_enc": box.seal(json.dumps(units)),
        "synced_at": datetime.now(UTC).isoformat(),
        "poll_interval_s": 3600,
    }
    await hub.config_entries.async_add(DOMAIN, "owner@example.org", data)
    return hub


async def adoption_round(hub: Hub, port: int, serial: str, secret: str) -> float:
    verified = asyncio.Event()

    def on_update(event: Event) -> None:
        device = hub.devices.get(event.data["device_id"])
        adoption = (device.extra.get(EXTRA_KEY) or {}) if device is not None else {}
        if adoption.get("verified") and adoption.get("serial") == serial:
            verified.set()

    unsubscribe = hub.bus.async_listen(EVENT_DEVICE_REGISTRY_UPDATED, on_update)
    async with aiomqtt.Client("127.0.0.1", port) as watcher:
        await watcher.subscribe(f"{PREFIX}/+/{serial}/+/config")
        device = DeviceThread(
            serial, ("127.0.0.1", port), secret_hex=secret, discovery_prefix=PREFIX
        )
        device.start()
        try:
            async for _message in watcher.messages:
                first_discovery = time.perf_counter()
                break
            await asyncio.wait_for(verified.wait(), 10)
            return time.perf_counter() - first_discovery
        finally:
            unsubscribe()
            device.stop()


async def bare_exchange(port: int, serial: str, secret: str) -> float:
    """Challenge out, answer in: what the adoption cannot go below."""
    device = DeviceThread(serial, ("127.0.0.1", port), secret_hex=secret, discovery_prefix=PREFIX)
    device.start()
    try:
        async with aiomqtt.Client("127.0.0.1", port) as hub_side:
            await hub_side.subscribe(f"ethos/{serial}/claim/response")
            await hub_side.subscribe(f"ethos/{serial}/status")
            async for message in hub_side.messages:
                if message.payload == b"online":
                    break
            await asyncio.sleep(0.2)  # the device has subscribed to its challenge topic
            started = time.perf_counter()
            await hub_side.publish(f"ethos/{serial}/claim/challenge", secrets.token_hex(16), qos=1)
            async for message in hub_side.messages:
                if str(message.topic).endswith("claim/response"):
                    return time.perf_counter() - started
    finally:
        device.stop()
    raise RuntimeError("no answer")


async def run(rounds: int) -> None:
    with private_mosquitto() as port, tempfile.TemporaryDirectory() as folder:
        units = [unit(f"EBENCH-{n:06d}", secrets.token_hex(32)) for n in range(rounds)]
        bare = [
            await bare_exchange(port, f"EBARE-{n:06d}", secrets.token_hex(32)) for n in range(5)
        ]
        hub = await linked_hub(Path(folder), port, units)
        try:
            adoption = [
                await adoption_round(hub, port, u["serial"], u["claim_secret"]) for u in units
            ]
        finally:
            await hub.async_stop()
    bare_ms = statistics.median(bare) * 1000
    adopt_ms = statistics.median(adoption) * 1000
    print(f"\n{rounds} units switched on one after another (private Mosquitto, firmware device)")
    print(f"  bare claim exchange (challenge -> answer), median:      {bare_ms:7.1f} ms")
    print(f"  first discovery message -> verified adoption, median:  {adopt_ms:7.1f} ms")
    worst = max(adoption) * 1000
    print(f"  adoption max {worst:.1f} ms; adoption / bare ratio {adopt_ms / bare_ms:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
