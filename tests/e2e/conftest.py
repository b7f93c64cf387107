"""The whole product as separate processes, for the browser story (e2e tier only).

The store, the BTCPay simulator, the hub and the simulated presence detector each run as
their own `ethos …` process, as in `ethos demo`; PostgreSQL, the SMTP server process and
Mosquitto come from the tier's fixtures. Serials and MQTT discovery prefixes are unique per
test so the shared broker stays clean.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from firmware.simulator.firmware_path import ensure_firmware_importable
from tests.conftest import DatabaseTarget
from tests.support import processes
from tests.support.dynsec_broker import DynsecBroker
from tests.support.remote_broker import JWKS_PATH, RemoteBroker
from tests.support.smtp_sink import MailCatcher

ensure_firmware_importable()  # tests.firmware.mqtt_support reads the flat firmware modules


@dataclass
class Stack:
    """Running processes of the product and how to reach them."""

    tmp: Path
    mail: MailCatcher
    base_env: dict[str, str]
    urls: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)

    def start(self, name: str, args: list[str], env: dict[str, str], port: int | None) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "ethos", *args],
            cwd=processes.ROOT,
            env={**os.environ, **self.base_env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        if port is not None:
            processes.wait_for_port("127.0.0.1", port, proc, timeout=60)
            self.urls[name] = f"http://127.0.0.1:{port}"

    def run(self, args: list[str], env: dict[str, str]) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "ethos", *args],
            cwd=processes.ROOT,
            env={**os.environ, **self.base_env, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            processes.stop(proc)


@dataclass
class StoreStack:
    stack: Stack
    store_url: str
    btcpay_url: str
    store_env: dict[str, str]
    mail: MailCatcher


@contextmanager
def _running_store_stack(
    database: DatabaseTarget,
    smtp_server: MailCatcher,
    tmp_path: Path,
    extra_env: Callable[[str], dict[str, str]] | None = None,
) -> Iterator[StoreStack]:
    """BTCPay simulator + store processes; EXTRA_ENV(store URL) adds to the store's
    variables."""
    stack = Stack(tmp_path, smtp_server, {"LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO")})
    sim_port, store_port = processes.free_port(), processes.free_port()
    store_url = f"http://127.0.0.1:{store_port}"
    store_env = {
        "ETHOS_DATA_DIR": str(tmp_path / "cloud"),
        "ETHOS_BASE_URL": store_url,
        "DATABASE_URL": database.url,
        "SMTP_URL": smtp_server.url,
        "BTCPAY_URL": f"http://127.0.0.1:{sim_port}",
    }
    if database.schema:
        store_env["ETHOS_DB_SCHEMA"] = database.schema
    if extra_env is not None:
        store_env.update(extra_env(store_url))
    try:
        stack.start(
            "btcpay-sim",
            ["btcpay-sim", "serve", "--port", str(sim_port)],
            {"BTCPAY_SIM_RETRY_SCALE": "0.01"},
            sim_port,
        )
        stack.start("store", ["cloud", "serve", "--port", str(store_port)], store_env, store_port)
        yield StoreStack(stack, store_url, stack.urls["btcpay-sim"], store_env, smtp_server)
    finally:
        stack.stop()


@pytest.fixture
def store_stack(
    database: DatabaseTarget, smtp_server: MailCatcher, tmp_path: Path
) -> Iterator[StoreStack]:
    """BTCPay simulator + store processes on the tier's database and SMTP server."""
    with _running_store_stack(database, smtp_server, tmp_path) as stack:
        yield stack


@pytest.fixture
def remote_store_stack(
    database: DatabaseTarget, smtp_server: MailCatcher, tmp_path: Path, remote_broker: RemoteBroker
) -> Iterator[StoreStack]:
    """The same with remote access on: the store mints tokens for the session's RabbitMQ
    node (MQTT for hubs, Web-MQTT for browsers, its management API to close connections),
    and the node's JWKS server passes on the store's own ``/oauth/jwks``."""
    assert remote_broker.jwks is not None
    jwks_url = ""

    def broker_env(store_url: str) -> dict[str, str]:
        nonlocal jwks_url
        jwks_url = store_url + JWKS_PATH
        return {
            "ETHOS_REMOTE_BROKER_MQTT_URL": remote_broker.mqtt_url,
            "ETHOS_REMOTE_BROKER_WS_URL": remote_broker.ws_url,
            "ETHOS_REMOTE_BROKER_ADMIN_URL": remote_broker.admin_url,
        }

    with _running_store_stack(database, smtp_server, tmp_path, broker_env) as stack:
        remote_broker.jwks.follow(jwks_url)
        try:
            yield stack
        finally:
            remote_broker.jwks.unfollow(jwks_url)


@dataclass
class DeviceUnit:
    serial: str
    claim_secret: str


def import_units(store: StoreStack, skus: list[str]) -> list[DeviceUnit]:
    """Put one fresh unit of each sku in stock through `ethos cloud stock import`."""
    units = [
        DeviceUnit(f"EPD-{secrets.randbelow(900_000) + 100_000}", secrets.token_hex(32))
        for _ in skus
    ]
    csv = store.stack.tmp / f"stock-{units[0].serial}.csv"
    rows = "".join(
        f"{u.serial},{sku},{u.claim_secret}\n" for u, sku in zip(units, skus, strict=True)
    )
    csv.write_text("serial,sku,claim_secret\n" + rows)
    store.stack.run(["cloud", "stock", "import", str(csv)], store.store_env)
    return units


@pytest.fixture
def store_process(store_stack: StoreStack) -> StoreStack:
    return store_stack


@dataclass
class HomeStack:
    hub_url: str
    prefix: str
    broker_url: str


def start_home(
    store: StoreStack, unit: DeviceUnit, broker: DynsecBroker, unique_id: str
) -> HomeStack:
    """The hub (the broker's admin) and the simulated presence detector, which logs in with
    its serial and the password derived from its claim secret: no credentials are given to
    it, and its account exists only once the hub has learnt from the store that it is owned."""
    prefix = f"ethos_story_{unique_id}"
    port = processes.free_port()
    store.stack.start(
        "hub",
        ["hub", "serve", "--port", str(port)],
        {
            "MQTT_URL": broker.admin_url,
            "ETHOS_HUB_DISCOVERY_PREFIX": prefix,
            "ETHOS_DATA_DIR": str(store.stack.tmp / "home"),
            "ETHOS_CLOUD_URL": store.store_url,
        },
        port,
    )
    store.stack.start(
        "device",
        ["device", "simulate", "--serial", unit.serial, "--broker", broker.url()],
        {
            "MQTT_URL": broker.url(),
            "ETHOS_HUB_DISCOVERY_PREFIX": prefix,
            "ETHOS_CLAIM_SECRET": unit.claim_secret,
        },
        None,
    )
    return HomeStack(store.stack.urls["hub"], prefix, broker.url())
