"""sd_notify from the hub: READY=1 once it listens, watchdog pings, STOPPING=1 (real sockets)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import socket
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.systemd import SystemdNotifier, notify_address, watchdog_interval
from tests.support.processes import free_port, start_python, stop


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket standing in for systemd's, and the $NOTIFY_SOCKET naming it."""
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(20)
        yield sock, str(path)


def receive(sock: socket.socket) -> list[str]:
    return sock.recv(4096).decode().split("\n")


def test_notify_address_reads_paths_and_abstract_names() -> None:
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@hub/notify"}) == b"\0hub/notify"
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "relative"}) is None


def test_watchdog_interval_is_half_the_timeout_and_only_for_this_process() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}, pid=7) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, pid=7) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_interval({"WATCHDOG_USEC": "nonsense"}, pid=7) is None
    assert watchdog_interval({}, pid=7) is None


def test_without_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False


def test_an_abstract_socket_receives_the_datagram() -> None:
    name = f"ethos-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(5)
        assert SystemdNotifier({"NOTIFY_SOCKET": f"@{name}"}).notify("READY=1", "STATUS=x")
        assert receive(sock) == ["READY=1", "STATUS=x"]


def test_a_missing_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert notifier.notify("READY=1") is False


async def test_ready_starts_watchdog_pings_at_half_the_interval(
    notify_socket: tuple[socket.socket, str],
) -> None:
    sock, path = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"})
    notifier.ready()
    assert "READY=1" in receive(sock)
    sock.setblocking(False)
    pings = []
    started = time.monotonic()
    while len(pings) < 4:
        try:
            pings.append((time.monotonic(), receive(sock)))
        except BlockingIOError:
            await asyncio.sleep(0.01)
        assert time.monotonic() - started < 10
    assert all(message == ["WATCHDOG=1"] for _, message in pings)
    gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(pings[1:])]
    assert all(0.05 < gap < 0.5 for gap in gaps)  # 0.1 s apart, give or take a busy machine
    notifier.stopping()
    await asyncio.sleep(0.3)
    messages = []
    while True:
        try:
            messages.append(receive(sock))
        except BlockingIOError:
            break
    # STOPPING=1, and no ping after it (at most one already in flight before it).
    stopping_at = messages.index(["STOPPING=1", "STATUS=Stopping"])
    assert len(messages[stopping_at + 1 :]) == 0
    await notifier.async_close()


def test_the_served_hub_says_ready_when_it_listens_pings_and_says_stopping(
    notify_socket: tuple[socket.socket, str], tmp_path: Path
) -> None:
    sock, path = notify_socket
    port = free_port()
    env = {
        "ETHOS_DATA_DIR": str(tmp_path / "data"),
        "NOTIFY_SOCKET": path,
        "WATCHDOG_USEC": "400000",
        "MQTT_URL": "",  # no broker: the hub looks for one on the LAN, in vain
    }
    proc = start_python(["-m", "ethos.cli", "hub", "serve", "--port", str(port)], env=env)
    try:
        assert "READY=1" in receive(sock)
        # Ready means listening: the very next request is answered.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert response.status == 200
        assert receive(sock) == ["WATCHDOG=1"]
        assert receive(sock) == ["WATCHDOG=1"]
        proc.send_signal(signal.SIGTERM)
        # A ping may already be on its way; STOPPING=1 follows it.
        while (message := receive(sock)) == ["WATCHDOG=1"]:
            pass
        assert message == ["STOPPING=1", "STATUS=Stopping"]
        assert proc.wait(20) == 0
    finally:
        stop(proc)
    assert os.path.exists(tmp_path / "data" / "hub" / "history.db")
