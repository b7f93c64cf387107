"""Shared pieces of the hub benchmarks: a private Mosquitto and a fast publisher process."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as paho

ENTITIES = 200
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_broker(argv: list[str], port: int) -> Iterator[int]:
    """Start a broker process and yield its port once it accepts connections."""
    proc = subprocess.Popen(argv, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} did not start")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def private_mosquitto(extra_settings: str = "") -> Iterator[int]:
    """Mosquitto on a free port with max_queued_messages 0 (unlimited), so a subscriber
    that falls behind is queued for, not silently dropped; ``extra_settings``: more lines."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_queued_bytes 0\n" + extra_settings
        )
        with running_broker([binary, "-c", str(conf)], port):
            yield port


PUBLISHER = r"""
import sys, paho.mqtt.client as mqtt
port, count, prefix, topics = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-publisher")
client.max_queued_messages_set(0)
client.connect("127.0.0.1", port)
client.loop_start()
names = [f"{prefix}/{i}/state" for i in range(topics)]
for n in range(count):
    client.publish(names[n % topics], str(n), qos=0)
client.publish(f"{prefix}/done", "1", qos=1).wait_for_publish()
client.loop_stop()
client.disconnect()
"""


def publish_burst(port: int, count: int, prefix: str) -> float:
    """Publish ``count`` state messages over the 200 topics from another process; seconds."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", PUBLISHER, str(port), str(count), prefix, str(ENTITIES)], check=True
    )
    return time.perf_counter() - started


def seed_discovery(port: int, prefix: str, state_base: str = "bench") -> None:
    """200 retained sensor configs (four per device, each device its own node id, as Home
    Assistant's convention has it) and a retained state for each."""
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"seed-{prefix}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    for i in range(ENTITIES):
        config = {
            "name": f"Sensor {i}",
            "uniq_id": f"{prefix}_{i}",
            "stat_t": f"{state_base}/{i}/state",
            "unit_of_meas": "W",
            "dev": {"ids": [f"{prefix}-dev-{i // 4}"], "name": f"Dev {i // 4}"},
        }
        topic = f"{prefix}/sensor/{prefix}{i // 4}/s{i}/config"
        client.publish(topic, json.dumps(config), qos=1, retain=True)
        client.publish(f"{state_base}/{i}/state", str(i), qos=1, retain=True).wait_for_publish()
    client.loop_stop()
    client.disconnect()


def wait_ready(proc: subprocess.Popen, url: str, ready: Callable[[dict], bool]) -> dict:
    """Poll ``url`` (JSON) until ``ready`` says so; the process must stay up (30 s at most)."""
    started = time.perf_counter()
    while True:
        if proc.poll() is not None or time.perf_counter() - started > 30:
            raise RuntimeError(f"{url} did not become ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 (our own URL)
                health = json.load(response)
            if ready(health):
                return health
        except OSError:
            pass
        time.sleep(0.01)


def compile_bytecode(checkout: Path) -> None:
    """Byte-compile the checkout's own code, as an installed package is (pip and dpkg do it
    at install): without it every start compiles the hub from source, which is slower than
    everything else together (and PYTHONDONTWRITEBYTECODE would make that every start)."""
    command = [sys.executable, "-m", "compileall", "-q", "-j0", "hub", "ethos"]
    subprocess.run(command, cwd=checkout, check=True, stdout=subprocess.DEVNULL)


def serve_hub(
    checkout: Path,
    data_dir: Path,
    broker_port: int,
    prefix: str,
    *,
    quiet: bool = False,
    **env: str,
) -> tuple[subprocess.Popen, int]:
    """`ethos hub serve` of the code in ``checkout`` (its own process; default integrations,
    not linked) against the broker; its web port. ``quiet``: its log goes nowhere (written to
    a file, it would count among the hub's own disk writes)."""
    web_port = free_port()
    environment = {
        **os.environ,
        "ETHOS_DATA_DIR": str(data_dir),
        "MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
        "ETHOS_HUB_DISCOVERY_PREFIX": prefix,
        "LOG_LEVEL": "ERROR",
        **env,
    }
    command = [sys.executable, "-m", "ethos.cli", "hub", "serve", "--port", str(web_port)]
    # From the checkout's folder: its code is what runs (the editable install yields).
    output = subprocess.DEVNULL if quiet else None
    proc = subprocess.Popen(command, cwd=checkout, env=environment, stdout=output, stderr=output)
    return proc, web_port


def healthz_with_every_entity(web_port: int, proc: subprocess.Popen) -> dict:
    return wait_ready(
        proc,
        f"http://127.0.0.1:{web_port}/healthz",
        lambda h: h["state"] == "running" and h["entities"] >= ENTITIES,
    )


@contextlib.contextmanager
def checkout_of(ref: str) -> Iterator[Path]:
    """A throw-away ``git worktree`` of ``ref`` (the code to compare against)."""
    folder = Path(tempfile.mkdtemp(prefix="ethos-baseline-"))
    subprocess.run(
        ["git", "worktree", "add", "--detach", "--quiet", str(folder), ref], cwd=ROOT, check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def resolve_ref(ref: str) -> str:
    """The commit a ref names (`git merge-base HEAD main` style refs included)."""
    command = (
        ["git", "merge-base", "HEAD", ref[len("merge-base:") :]]
        if ref.startswith("merge-base:")
        else ["git", "rev-parse", ref]
    )
    return subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()


def load_averages() -> str:
    one, five, fifteen = os.getloadavg()
    return (
        f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} CPUs)"
    )
