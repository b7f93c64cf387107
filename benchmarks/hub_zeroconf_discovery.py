"""Zeroconf on loopback: broker announcement to MQTT in use, hub start to browsable.

Each round starts a hub (mqtt + zeroconf, MQTT_URL unset) on 127.0.0.1, then a second
responder announces a private Mosquitto as ``_mqtt._tcp``. Measured from the moment the
announcement is registered: a bare python-zeroconf browser resolving it (the baseline:
what mDNS itself costs) and the hub's MQTT entry reaching "loaded" (browse, resolve, hook,
entry, broker connection). Also: hub start to its ``_ethos-hub._tcp`` record resolving,
and the hub core's start time with and without the two integrations.

    .venv/bin/python -m benchmarks.hub_zeroconf_discovery [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from zeroconf import IPVersion, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from benchmarks.hub_common import private_mosquitto
from hub.core.config import HubConfig
from hub.core.config_entries import EntryState
from hub.core.hub import Hub
from hub.integrations.mqtt.const import ENV_DISCOVERY_PREFIX
from hub.integrations.zeroconf.const import ENV_INTERFACES

MQTT_TYPE = "_mqtt._tcp.local."
HUB_TYPE = "_ethos-hub._tcp.local."


def responder() -> AsyncZeroconf:
    return AsyncZeroconf(interfaces=["127.0.0.1"], ip_version=IPVersion.V4Only)


async def wait_until(predicate, timeout: float = 20.0) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.002)
    return time.perf_counter()


async def bare_resolve(listener: AsyncZeroconf, service_type: str, name: str) -> None:
    """What a plain python-zeroconf client does: browse, then resolve the instance."""
    seen = asyncio.Event()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if name == wanted and state_change is not ServiceStateChange.Removed:
            seen.set()

    wanted = name
    browser = AsyncServiceBrowser(listener.zeroconf, [service_type], handlers=[on_change])
    try:
        await seen.wait()
        assert await AsyncServiceInfo(service_type, name).async_request(listener.zeroconf, 3000)
    finally:
        await browser.async_cancel()


async def one_round(port: int, folder: Path) -> tuple[float, float, float, float]:
    tag = uuid.uuid4().hex[:8]
    config = HubConfig(
        data_dir=folder,
        integrations=("mqtt", "zeroconf", "bluetooth"),
        name=f"Bench hub {tag}",
        environ={
            ENV_DISCOVERY_PREFIX: f"bench_{tag}",
            ENV_INTERFACES: "127.0.0.1",
        },
    )
    speaker, listener = responder(), responder()
    hub = Hub(config)
    try:
        started = time.perf_counter()
        await hub.async_start()
        ready = hub.started_in or 0.0
        await bare_resolve(listener, HUB_TYPE, f"{config.name}.{HUB_TYPE}")
        browsable = time.perf_counter() - started

        name = f"Broker {tag}.{MQTT_TYPE}"
        info = AsyncServiceInfo(
            MQTT_TYPE, name, port=port, parsed_addresses=["127.0.0.1"], server=f"b{tag}.local."
        )
        # Timed from the moment the responder starts registering (probing, then announcing).
        bare = asyncio.create_task(bare_resolve(listener, MQTT_TYPE, name))
        await asyncio.sleep(0.05)  # the bare browser is running before the clock starts
        announced = time.perf_counter()
        registration = await speaker.async_register_service(info)

        def loaded() -> bool:
            entries = hub.config_entries.async_entries("mqtt")
            return bool(entries) and entries[0].state is EntryState.LOADED

        bare_done = 0.0

        def bare_finished(_: asyncio.Task) -> None:
            nonlocal bare_done
            bare_done = time.perf_counter()

        bare.add_done_callback(bare_finished)
        hub_done = await wait_until(loaded)
        await bare
        await registration
        return ready, browsable, bare_done - announced, hub_done - announced
    finally:
        await hub.async_stop()
        await speaker.async_close()
        await listener.async_close()


async def core_start(folder: Path, integrations: tuple[str, ...]) -> float:
    hub = Hub(HubConfig(data_dir=folder, integrations=integrations))
    await hub.async_start()
    await hub.async_stop()
    return hub.started_in or 0.0


def main(rounds: int) -> None:
    rows = []
    with private_mosquitto() as port:
        for n in range(rounds):
            with tempfile.TemporaryDirectory() as folder:
                rows.append(asyncio.run(one_round(port, Path(folder))))
            _, browsable, bare, hub = rows[-1]
            print(
                f"round {n + 1}: hub browsable {browsable * 1000:.0f} ms after start; "
                f"broker announced -> bare resolve {bare * 1000:.0f} ms, "
                f"-> hub MQTT loaded {hub * 1000:.0f} ms"
            )
    plain, extra = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as folder:
            plain.append(asyncio.run(core_start(Path(folder), ())))
        with tempfile.TemporaryDirectory() as folder:
            extra.append(asyncio.run(core_start(Path(folder), ("zeroconf", "bluetooth"))))

    def med(i: int) -> float:
        return statistics.median(r[i] for r in rows) * 1000

    print(f"\nmedians of {rounds} rounds on 127.0.0.1:")
    print(f"  broker announced -> bare python-zeroconf resolve: {med(2):6.0f} ms (baseline)")
    print(f"  broker announced -> hub's MQTT entry loaded:      {med(3):6.0f} ms")
    print(f"  ratio hub / baseline: {med(3) / med(2):.2f}")
    print(f"  hub start -> _ethos-hub._tcp resolvable:          {med(1):6.0f} ms")
    print(
        f"  hub core start: {statistics.median(plain) * 1000:.0f} ms without, "
        f"{statistics.median(extra) * 1000:.0f} ms with zeroconf + bluetooth (no adapter here)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args().rounds)
