"""BTHome advertisements into hub states: throughput and memory, against the bare library.

Traffic like a room of BTHome sensors: DEVICES devices, each sending packets whose values
change every packet, and every packet heard REPEATS times (devices repeat each packet).
Baseline: bthome-ble alone parsing the same advertisements (one parser per device, no
de-duplication, no entities). Hub: a real Hub with the bluetooth integration, fed through
the scanner callback bleak would call; counted from first callback until every state is
written. Memory: RSS growth while advertisements arrive from ever new addresses, which
the integration must hold flat (bounded device table and device count).

    .venv/bin/python -m benchmarks.hub_bluetooth_ingest [--packets 4000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import tempfile
import time
from pathlib import Path

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.integrations.bluetooth import SCANNER_FACTORY
from hub.integrations.bluetooth.manager import BluetoothManager

DEVICES = 50
REPEATS = 3
UUID = "0000fcd2-0000-1000-8000-00805f9b34fb"


def advertisement(device: int, packet: int) -> tuple[BLEDevice, AdvertisementData]:
    """Packet id, temperature and humidity that change with every packet."""
    data = bytes((0x40, 0x00, packet & 0xFF, 0x02)) + struct.pack("<h", 2000 + packet % 500)
    data += b"\x03" + struct.pack("<H", 4000 + packet % 900)
    address = f"A4:C1:38:00:{device >> 8:02X}:{device & 0xFF:02X}"
    name = f"Bench {device}"
    adv = AdvertisementData(name, {}, {UUID: data}, [], None, -60, ())
    return BLEDevice(address, name, None), adv


def traffic(packets: int) -> list[tuple[BLEDevice, AdvertisementData]]:
    out = []
    for n in range(packets):
        heard = advertisement(n % DEVICES, n // DEVICES)
        out.extend([heard] * REPEATS)
    return out


def run_library(adverts: list[tuple[BLEDevice, AdvertisementData]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for the library alone."""
    parsers: dict[str, BTHomeBluetoothDeviceData] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for device, adv in adverts:
        parser = parsers.setdefault(device.address, BTHomeBluetoothDeviceData())
        parser.update(
            BluetoothServiceInfoBleak(
                adv.local_name,
                device.address,
                adv.rssi,
                {},
                adv.service_data,
                [],
                "local",
                device,
                adv,
                False,
                time.monotonic(),
                None,
            )
        )
    return time.perf_counter() - started, time.process_time() - cpu


class InlineScanner:
    """The integration's scanner interface; the benchmark calls the callback itself."""

    def __init__(self, callback, adapter) -> None:  # type: ignore[no-untyped-def]
        self.callback, self.mode = callback, "passive"

    async def async_start(self) -> None: ...

    async def async_stop(self) -> None: ...


async def start_hub(folder: Path) -> tuple[Hub, BluetoothManager]:
    hub = Hub(HubConfig(data_dir=folder, integrations=("bluetooth", "bthome")))
    hub.data[SCANNER_FACTORY] = InlineScanner
    await hub.async_start()
    return hub, hub.config_entries.async_entries("bluetooth")[0].runtime_data


async def run_hub(adverts: list[tuple[BLEDevice, AdvertisementData]]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, duplicates dropped) once entities exist (warm)."""
    with tempfile.TemporaryDirectory() as folder:
        hub, manager = await start_hub(Path(folder))
        try:
            for device, adv in adverts[: DEVICES * REPEATS]:  # create the entities first
                manager.on_advertisement(device, adv)
            await manager.async_wait_idle()
            before = manager.handlers["bthome"].reader.counters.duplicates
            wall, cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(adverts), 500):  # bursts below the queue bound
                for device, adv in adverts[start : start + 500]:
                    manager.on_advertisement(device, adv)
                await manager.async_wait_idle()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert manager.dropped == 0
            return wall, cpu, manager.handlers["bthome"].reader.counters.duplicates - before
        finally:
            await hub.async_stop()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_flood(addresses: int) -> tuple[float, float, int]:
    """RSS after 1/10 of the addresses and after all of them, and devices kept."""
    with tempfile.TemporaryDirectory() as folder:
        hub, manager = await start_hub(Path(folder))
        try:
            marks = []
            for n in range(addresses):
                manager.on_advertisement(*advertisement(n, 0))
                if n % 500 == 499:
                    await manager.async_wait_idle()
                if n + 1 in (addresses // 10, addresses):
                    await manager.async_wait_idle()
                    marks.append(rss_mb())
            devices = len(hub.devices.async_all())
            return marks[0], marks[1], devices
        finally:
            await hub.async_stop()


def main(packets: int, rounds: int) -> None:
    adverts = traffic(packets)
    count = len(adverts)
    library_cpu, hub_wall, hub_cpu = [], [], []
    for n in range(rounds):
        lib_wall, lib_cpu = run_library(adverts)
        wall, cpu, duplicates = asyncio.run(run_hub(adverts))
        library_cpu.append(lib_cpu)
        hub_wall.append(wall)
        hub_cpu.append(cpu)
        print(
            f"round {n + 1}: library {count / lib_wall:,.0f} adv/s (CPU {lib_cpu:.2f} s), "
            f"hub {count / wall:,.0f} adv/s (CPU {cpu:.2f} s), "
            f"{duplicates} repeats dropped by packet id"
        )
    lib, wall, cpu = (statistics.median(x) for x in (library_cpu, hub_wall, hub_cpu))
    print(f"\n{count} advertisements: {packets} packets x {REPEATS} repeats, {DEVICES} devices")
    print(f"  bthome-ble alone, CPU per advertisement:        {lib * 1e6 / count:6.1f} us")
    print(f"  hub, callback -> states, CPU per advertisement: {cpu * 1e6 / count:6.1f} us")
    print(f"  hub, wall per advertisement:                    {wall * 1e6 / count:6.1f} us")
    print(f"  hub / library CPU ratio: {cpu / lib:.2f} (medians of {rounds} rounds)")
    first, last, devices = asyncio.run(run_flood(10_000))
    print(
        f"flood from 10,000 new addresses: RSS {first:.1f} MB after 1,000, {last:.1f} MB after "
        f"10,000 ({last - first:+.1f} MB); devices kept {devices} (cap 256)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packets", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    main(args.packets, args.rounds)
