"""Shared pieces of the hub benchmarks: a private Mosquitto and a fast publisher process."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ENTITIES = 200


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
def private_mosquitto() -> Iterator[int]:
    """Mosquitto on a free port with max_queued_messages 0 (unlimited), so a subscriber
    that falls behind is queued for, not silently dropped."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        conf = Path(folder) / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "max_queued_messages 0\nmax_queued_bytes 0\n"
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
