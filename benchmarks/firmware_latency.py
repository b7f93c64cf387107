"""Radar frame -> MQTT publish latency of the firmware running in the host simulator.

The firmware's PresenceDevice runs unchanged on CPython (20 ms main loop, as on the ESP32)
with the simulated LD2410 and the paho adapter, against a real broker. Each cycle puts a
person in front of the simulated radar and measures from the moment the first frame
showing them is due on the UART (the simulated radar schedules frames every 100 ms, on
its own clock) until a separate subscriber receives ``occupancy ON``. On-latency is set to
0 and the off-delay to 0 so only processing, not the configured delays, is measured.

Baseline, same run and broker: a bare paho publish -> subscriber receive (transport floor).
Broker: $MQTT_URL (default mqtt://127.0.0.1:1883); an in-process amqtt when none answers.
Usage: python benchmarks/firmware_latency.py [--cycles N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import queue
import socket
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.simulator.firmware_path import ensure_firmware_importable  # noqa: E402
from firmware.simulator.paho_client import PahoMQTTClient  # noqa: E402
from firmware.simulator.radar import NO_TARGET, RadarTarget, SimulatedLD2410  # noqa: E402

ensure_firmware_importable()

import device_config  # noqa: E402
import fw_log  # noqa: E402
from presence_app import PresenceDevice  # noqa: E402

PERSON = RadarTarget(1, 150, 80, 0, 0)


def now_ms() -> float:
    return time.perf_counter() * 1000


def broker_address() -> tuple[str, int, str]:
    parts = urlsplit(os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"))
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883
    try:
        socket.create_connection((host, port), timeout=1).close()
        return host, port, "external broker"
    except OSError:
        return "127.0.0.1", _start_amqtt(), "in-process amqtt"


def _start_amqtt() -> int:
    from tests.support.mqtt_broker import start_amqtt

    ready: queue.Queue[int] = queue.Queue()

    def serve() -> None:
        async def main() -> None:
            _broker, port = await start_amqtt()
            ready.put(port)
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    return ready.get(timeout=20)


class Subscriber:
    def __init__(self, host: str, port: int, topic: str) -> None:
        self.received: queue.Queue[tuple[float, bytes]] = queue.Queue()
        self.client = paho.Client(CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda _c, _u, msg: self.received.put((now_ms(), msg.payload))
        self.client.connect(host, port)
        self.client.subscribe(topic, qos=0)
        self.client.loop_start()
        time.sleep(0.3)

    def wait_for(self, payload: bytes, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        while True:
            at, got = self.received.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == payload:
                return at

    def drain(self) -> None:
        while not self.received.empty():
            self.received.get_nowait()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def measure_firmware(host: str, port: int, cycles: int) -> tuple[list[float], list[float]]:
    """Latencies from the frame being due, and from the firmware reading it off the UART."""
    serial = "EPD-B" + uuid.uuid4().hex[:8]
    config = device_config.default_config()
    config.update(serial=serial, claim_secret="00" * 32)
    config["mqtt"].update(host=host, port=port)
    config["settings"]["on_latency"] = 0
    scene = {"target": NO_TARGET, "first_frame": None, "first_read": None}

    def on_frame(at_ms: float, target: RadarTarget) -> None:
        if target.state and scene["first_frame"] is None:
            scene["first_frame"] = at_ms

    class TimedRadar(SimulatedLD2410):
        def readinto(self, buf: bytearray | memoryview) -> int:
            count = super().readinto(buf)
            if scene["first_frame"] is not None and scene["first_read"] is None:
                scene["first_read"] = now_ms()
            return count

    radar = TimedRadar(lambda _t: scene["target"], now_ms)
    radar.on_frame = on_frame
    device = PresenceDevice(config, [], radar, None, PahoMQTTClient)
    device.fusion.hold_ms = 0  # benchmark only: end each cycle at once
    stop = threading.Event()
    thread = threading.Thread(target=device.run, kwargs={"should_stop": stop.is_set})
    subscriber = Subscriber(host, port, f"ethos/{serial}/occupancy")
    thread.start()
    latencies = []
    after_read = []
    try:
        subscriber.wait_for(b"OFF")
        for _ in range(cycles):
            subscriber.drain()
            scene["first_frame"] = scene["first_read"] = None
            scene["target"] = PERSON
            received = subscriber.wait_for(b"ON")
            latencies.append(received - scene["first_frame"])
            after_read.append(received - scene["first_read"])
            scene["target"] = NO_TARGET
            subscriber.wait_for(b"OFF")
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
        subscriber.close()
        _clear_retained(host, port, serial)
    return latencies, after_read


def measure_baseline(host: str, port: int, cycles: int) -> list[float]:
    topic = f"ethos-bench/{uuid.uuid4().hex}"
    subscriber = Subscriber(host, port, topic)
    publisher = paho.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(host, port)
    publisher.loop_start()
    latencies = []
    try:
        for k in range(cycles):
            payload = str(k).encode()
            sent = now_ms()
            publisher.publish(topic, payload)
            latencies.append(subscriber.wait_for(payload) - sent)
            time.sleep(0.02)
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        subscriber.close()
    return latencies


def _clear_retained(host: str, port: int, serial: str) -> None:
    """Delete what the benchmark device left retained on the broker."""
    found: set[str] = set()
    client = paho.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, msg: msg.retain and found.add(msg.topic)
    client.connect(host, port)
    client.subscribe([(f"ethos/{serial}/#", 0), (f"homeassistant/+/{serial}/+/config", 0)])
    client.loop_start()
    time.sleep(0.5)
    for topic in found:
        client.publish(topic, b"", retain=True).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()


def describe(name: str, samples: list[float]) -> float:
    ordered = sorted(samples)
    median = statistics.median(ordered)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(f"{name:34} median {median:7.2f} ms   p90 {p90:7.2f} ms   max {ordered[-1]:7.2f} ms")
    return median


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=40)
    args = parser.parse_args()
    fw_log.set_level(fw_log.WARNING)
    host, port, kind = broker_address()
    print(f"broker: {kind} at {host}:{port}; {args.cycles} cycles each")
    baseline = describe(
        "baseline: paho publish -> receive", measure_baseline(host, port, args.cycles)
    )
    from_frame, from_read = measure_firmware(host, port, args.cycles)
    firmware = describe("firmware: radar frame -> receive", from_frame)
    describe("firmware: UART read -> receive", from_read)
    print(f"ratio of medians (firmware / baseline): {firmware / baseline:.1f}x")
    print("(the main loop polls the UART every 20 ms, so ~10 ms of the median is waiting for it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
