"""Test helpers for the firmware's MQTT behaviour: an observer, a cuttable TCP proxy, the
simulated device running in a thread, and cleanup of retained topics on shared brokers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
import clock
import device_config
from presence_app import PresenceDevice

from firmware.simulator.paho_client import PahoMQTTClient
from firmware.simulator.radar import RadarTarget, SimulatedLD2410
from tests.support.mqtt_broker import is_test_amqtt
from tests.support.processes import ROOT

SECRET_HEX = "5e" * 32


def host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 1883


@dataclass
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float


class Observer:
    """Subscribes like the hub would and records every message with its arrival time."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.messages: list[Received] = []
        self._changed = asyncio.Event()

    async def _consume(self) -> None:
        async for message in self.client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self.messages.append(
                Received(str(message.topic), payload, message.retain, time.monotonic())
            )
            self._changed.set()

    def payloads(self, topic: str) -> list[bytes]:
        return [m.payload for m in self.messages if m.topic == topic]

    async def wait_for(
        self, topic: str, payload: bytes | None = None, timeout: float = 10.0, after: int = 0
    ) -> Received:
        """First message on ``topic`` (with ``payload``) among messages[after:]."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages[after:]:
                if message.topic == topic and (payload is None or message.payload == payload):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [(m.topic, m.payload) for m in self.messages[after:] if m.topic == topic]
                raise AssertionError(f"no {payload!r} on {topic} within {timeout}s; saw {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        await self.client.publish(topic, payload, qos=1, retain=retain)


@contextlib.asynccontextmanager
async def observe(url: str, *topics: str) -> AsyncIterator[Observer]:
    host, port = host_port(url)
    async with aiomqtt.Client(host, port) as client:
        for topic in topics:
            await client.subscribe(topic, qos=1)
        observer = Observer(client)
        task = asyncio.create_task(observer._consume())
        try:
            yield observer
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task


async def clear_retained(
    url: str, serial: str, prefix: str = "homeassistant", *extra_topics: str
) -> None:
    """Delete what a test device (and hub) left retained, so shared brokers stay clean.

    A test's own amqtt broker is left alone: it is shut down after the test, and amqtt has
    been seen failing a subscription made while it handled a simulator's last will
    ("dictionary changed size during iteration")."""
    if is_test_amqtt(url):
        return
    topics = (f"ethos/{serial}/#", f"{prefix}/+/{serial}/+/config", *extra_topics)
    async with observe(url, *topics) as observer:
        await asyncio.sleep(0.3)
        for topic in {m.topic for m in observer.messages if m.retain}:
            await observer.publish(topic, b"", retain=True)


class TcpProxy:
    """Forwards TCP to the broker until ``cut()``: then drops connections and refuses new ones."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.accepting = True
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._writers += [writer, up_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        self.accepting = False
        for writer in self._writers:
            writer.close()
        self._writers.clear()

    def restore(self) -> None:
        self.accepting = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()


class MemoryConfigStore:
    def __init__(self) -> None:
        self.saved: list[str] = []

    def save(self, text: str) -> None:
        self.saved.append(text)


@dataclass
class Scene:
    """What the simulated radar and PIR see right now; tests change it while the device runs."""

    target: RadarTarget = field(default_factory=RadarTarget)
    pir: bool = False


class ScenePin:
    def __init__(self, scene: Scene) -> None:
        self.scene = scene

    def value(self) -> int:
        return int(self.scene.pir)


class DeviceThread:
    """A PresenceDevice with simulated hardware, stepping in a background thread."""

    def __init__(
        self,
        serial: str,
        broker: tuple[str, int],
        settings: dict | None = None,
        config_text: str | None = "valid",
        secret_hex: str = SECRET_HEX,
        discovery_prefix: str = "homeassistant",
    ) -> None:
        import json

        if config_text == "valid":
            config_text = json.dumps({"serial": serial, "claim_secret": secret_hex})
        config, problems = device_config.load_config(config_text)
        config["serial"] = serial
        config["mqtt"].update(host=broker[0], port=broker[1], discovery_prefix=discovery_prefix)
        config["settings"].update(settings or {})
        self.scene = Scene()
        self.radar = SimulatedLD2410(lambda _now: self.scene.target, clock.ticks_ms)
        self.store = MemoryConfigStore()
        self.device = PresenceDevice(
            config, problems, self.radar, ScenePin(self.scene), PahoMQTTClient, self.store
        )
        # Short backoff so reconnect tests do not wait a second per attempt.
        self.device.link.backoff.first_ms = 100
        self.device.link.backoff.max_ms = 400
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.device.run(should_stop=self._stop.is_set, interval_ms=5)
        except BaseException as err:  # surfaced by stop() so the test fails loudly
            self.error = err
            raise

    def start(self) -> DeviceThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        if self.error is not None:
            raise AssertionError("device loop crashed") from self.error


def ethos(*args: str) -> subprocess.Popen:
    """The `ethos` command as a separate process, as the demo starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "ethos.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOG_LEVEL": "INFO"},
    )


def simulate(serial: str, broker: str, *extra: str) -> subprocess.Popen:
    return ethos(
        "device", "simulate", "--serial", serial, "--claim-secret", SECRET_HEX, "--broker", broker,
        *extra,
    )  # fmt: skip


async def finish(process: subprocess.Popen, sig: int) -> tuple[int, str]:
    """Send ``sig``, wait for the exit; (exit status, stderr)."""
    process.send_signal(sig)
    _out, err = await asyncio.to_thread(process.communicate, timeout=20)
    return process.returncode, err
