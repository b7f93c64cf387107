"""Process supervision for `ethos demo`: start components in order, report, stop cleanly."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from ethos import dynsec_broker
from ethos.demo import DEMO_DIR_DEFAULT, DEMO_SERIAL
from ethos.demo_mail import OutboxWatcher

if TYPE_CHECKING:
    from cloud.remote.broker_node import BrokerPorts

_LOGGER = logging.getLogger(__name__)

PORT_CLOUD = 8080
PORT_BTCPAY = 8082
PORT_HUB = 8181
PORT_MQTT = 1883
START_TIMEOUT_S = 60.0
# Remote access's broker role (issue #19): a private RabbitMQ node, when RabbitMQ is installed
# and this checkout has its packaging; ETHOS_DEMO_REMOTE=0 leaves it out.
REMOTE_BROKER_SCRIPT = Path(__file__).resolve().parents[1] / "packaging/remote-broker/run.py"
ENV_DEMO_REMOTE = "ETHOS_DEMO_REMOTE"


@dataclass
class Component:
    name: str
    args: list[str]
    port: int | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C and SIGTERM until the block ends, then raise KeyboardInterrupt.

    An interrupt raised inside ``subprocess.Popen`` can land after the child was forked
    but before its handle is returned: the child then runs on with nobody to stop it.
    Handlers are swapped rather than signals blocked, as a blocked mask is inherited.
    """
    arrived: list[int] = []
    deferred = (signal.SIGINT, signal.SIGTERM)
    previous = {
        signum: signal.signal(signum, lambda n, _f: arrived.append(n)) for signum in deferred
    }
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if arrived:
        raise KeyboardInterrupt


class DemoRunner:
    def __init__(self, fresh: bool, host: str) -> None:
        self.host = host
        self.data_dir = Path(os.environ.get("ETHOS_DATA_DIR") or DEMO_DIR_DEFAULT).resolve()
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs = self.data_dir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.running: list[Component] = []
        self.identity_enforced = dynsec_broker.available()
        # Our own broker: on 1883 unless something (a system Mosquitto) already listens there.
        self.mqtt_port = PORT_MQTT if not port_open(host, PORT_MQTT) else free_port(host)
        self.remote_ports = self._remote_broker_ports()
        self.remote_running = False

    def _remote_broker_ports(self) -> BrokerPorts | None:
        """The remote broker's ports (chosen now: the store is told its URLs), or None when
        the demo runs without the broker role."""
        if (
            os.environ.get(ENV_DEMO_REMOTE, "1") in ("0", "false")
            or not REMOTE_BROKER_SCRIPT.exists()
        ):
            return None
        try:
            from cloud.remote import broker_node
        except ImportError:
            return None
        return broker_node.BrokerPorts.free(self.host) if broker_node.available() else None

    # -- set-up -----------------------------------------------------------------------
    def claim_secret(self) -> str:
        """The simulated unit's secret: made once, kept in the data directory."""
        path = self.data_dir / "demo-device.secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def broker_admin_password(self) -> str:
        """The hub's admin password on the demo's broker: made once, kept 0600 beside the
        broker's own files (a new one starts a new broker configuration)."""
        path = self.data_dir / "mqtt-admin.secret"
        if not path.exists():
            shutil.rmtree(self.data_dir / "mqtt", ignore_errors=True)
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def remote_broker_password(self) -> str:
        """The store's password on the remote broker's management API: made once, 0600."""
        path = self.data_dir / "remote-broker-admin.secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()

    def remote_broker_component(self) -> Component | None:
        ports = self.remote_ports
        if ports is None:
            return None
        from cloud.remote import broker_node

        jwks = f"http://{self.host}:{PORT_CLOUD}/oauth/jwks"  # fetched when a token comes
        return Component(
            "remote broker",
            [str(REMOTE_BROKER_SCRIPT), "--dir", str(self.data_dir / "remote-broker"),
             "--jwks-url", jwks, "--host", self.host, "--mqtt-port", str(ports.mqtt),
             "--web-mqtt-port", str(ports.web_mqtt), "--management-port", str(ports.management),
             "--dist-port", str(ports.dist)],
            ports.mqtt,
            env={broker_node.ENV_ADMIN_PASSWORD: self.remote_broker_password()},
        )  # fmt: skip

    def remote_store_env(self) -> dict[str, str]:
        """What the store needs to hand out broker tokens (REMOTE.md's settings)."""
        if not self.remote_running:
            return {}
        from cloud.remote import broker_node
        from cloud.remote.broker_const import WEB_MQTT_PATH

        ports = self.remote_ports
        assert ports is not None
        return {
            "ETHOS_REMOTE_BROKER_MQTT_URL": f"mqtt://{self.host}:{ports.mqtt}",
            "ETHOS_REMOTE_BROKER_WS_URL": f"ws://{self.host}:{ports.web_mqtt}{WEB_MQTT_PATH}",
            "ETHOS_REMOTE_BROKER_ADMIN_URL": f"http://{self.host}:{ports.management}",
            "ETHOS_REMOTE_BROKER_ADMIN_USER": broker_node.DEFAULT_ADMIN_USER,
            "ETHOS_REMOTE_BROKER_ADMIN_PASSWORD": self.remote_broker_password(),
        }

    def stock_file(self, secret: str) -> Path:
        """Demo stock: the simulated detector first, then a few units of each product."""
        from cloud.catalog.loader import load_catalog

        lines = ["serial,sku,claim_secret", f"{DEMO_SERIAL},EPD-1,{secret}"]
        for index, product in enumerate(load_catalog().products):
            prefix = product.sku.split("-")[0][:4]
            for unit in range(1, 6):
                serial = f"{prefix}-{900000 + index * 100 + unit}"
                lines.append(f"{serial},{product.sku},{secrets.token_hex(32)}")
        path = self.data_dir / "demo-stock.csv"
        if not path.exists():
            path.write_text("\n".join(lines) + "\n")
        return path

    def base_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ETHOS_DATA_DIR": str(self.data_dir),
            "ETHOS_BASE_URL": f"http://{self.host}:{PORT_CLOUD}",
            "ETHOS_CLOUD_URL": f"http://{self.host}:{PORT_CLOUD}",
            # Devices get the broker without credentials: they log in as their serial with
            # the password derived from their claim secret. Only the hub gets the admin.
            "MQTT_URL": f"mqtt://{self.host}:{self.mqtt_port}",
            "BTCPAY_URL": f"http://{self.host}:{PORT_BTCPAY}",
        }

    # -- process handling ------------------------------------------------------------
    def start(self, component: Component, step: int, total: int) -> None:
        print(f"[{step}/{total}] starting {component.name} …", end=" ", flush=True)
        log = (self.logs / f"{component.name.replace(' ', '-')}.log").open("ab")
        self.running.append(component)  # before it exists: an interrupt still stops it
        with _interrupts_deferred():
            component.process = subprocess.Popen(  # noqa: S603 (our interpreter, our arguments)
                [sys.executable, *component.args],
                env={**self.base_env(), **component.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while component.port and not port_open(self.host, component.port):
            if component.process.poll() is not None or time.monotonic() > deadline:
                print("failed")
                raise RuntimeError(f"{component.name} did not start; see {log.name}")
            time.sleep(0.1)
        if component.process.poll() is not None:
            print("failed")
            raise RuntimeError(f"{component.name} exited; see {log.name}")
        print("ready")

    def start_optional(self, component: Component, step: int, total: int) -> bool:
        """Start a part the demo can do without (remote access's broker): False if it fails."""
        try:
            self.start(component, step, total)
        except RuntimeError as err:
            print(f"  {err}; the demo goes on without remote access")
            if component.process is not None and component.process.poll() is None:
                component.process.kill()
                component.process.wait()
            self.running.remove(component)
            return False
        return True

    def run_once(self, name: str, args: list[str]) -> None:
        result = subprocess.run(  # noqa: S603 (our interpreter, our arguments)
            [sys.executable, *args], env=self.base_env(), capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"{name} failed: {result.stderr.strip() or result.stdout.strip()}")

    def stop_all(self) -> None:
        for component in reversed(self.running):
            process = component.process
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.running.clear()

    # -- the demo --------------------------------------------------------------------
    def broker_component(self) -> Component:
        port = str(self.mqtt_port)
        if not self.identity_enforced:
            return Component(
                "mqtt broker", ["-m", "ethos.demo_broker", "--host", self.host, "--port", port],
                self.mqtt_port,
            )  # fmt: skip
        return Component(
            "mqtt broker",
            ["-m", "ethos.dynsec_broker", "--dir", str(self.data_dir / "mqtt"),
             "--host", self.host, "--port", port],
            self.mqtt_port,
            env={dynsec_broker.ENV_ADMIN_PASSWORD: self.broker_admin_password()},
        )  # fmt: skip

    def hub_mqtt_url(self) -> str:
        if not self.identity_enforced:
            return f"mqtt://{self.host}:{self.mqtt_port}"
        password = quote(self.broker_admin_password(), safe="")
        return f"mqtt://{dynsec_broker.ADMIN_USER}:{password}@{self.host}:{self.mqtt_port}"

    def components(self, secret: str) -> list[Component]:
        ethos = ["-m", "ethos"]
        if not self.identity_enforced:
            print(
                "WARNING: Mosquitto with its dynamic-security plugin is not installed; the "
                "embedded broker does NOT enforce device identity (any client on the network "
                "can speak for any device)."
            )
        items = [self.broker_component()]
        remote = self.remote_broker_component()
        if remote is not None:
            items.append(remote)
        items += [
            Component(
                "btcpay simulator",
                [*ethos, "btcpay-sim", "serve", "--host", self.host, "--port", str(PORT_BTCPAY)],
                PORT_BTCPAY,
            ),
            Component(
                "store",
                [*ethos, "cloud", "serve", "--host", self.host, "--port", str(PORT_CLOUD)],
                PORT_CLOUD,
            ),
            Component(
                "hub",
                [*ethos, "hub", "serve", "--host", self.host, "--port", str(PORT_HUB)],
                PORT_HUB,
                env={"MQTT_URL": self.hub_mqtt_url()},
            ),
            Component(
                "presence detector simulator",
                [
                    *ethos,
                    "device",
                    "simulate",
                    "--serial",
                    DEMO_SERIAL,
                    "--config-file",
                    str(self.data_dir / "demo-device.json"),
                ],
                env={"ETHOS_CLAIM_SECRET": secret},
            ),
        ]
        return items

    def run(self) -> int:
        # A service manager stops us with SIGTERM: treat it like Ctrl-C so children stop too.
        # SIGINT too, explicitly: started from a shell's background job it comes inherited
        # as ignored, and Python then installs no handler of its own (Ctrl-C did nothing).
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)
        secret = self.claim_secret()
        stock = self.stock_file(secret)
        components = self.components(secret)
        total = len(components) + 1
        try:
            step = 0
            for component in components:
                step += 1
                if component.name == "store":
                    component.env.update(self.remote_store_env())
                if component.name == "remote broker":
                    self.remote_running = self.start_optional(component, step, total)
                    continue
                self.start(component, step, total)
                if component.name == "store":
                    step += 1
                    print(f"[{step}/{total}] importing demo stock …", end=" ", flush=True)
                    self.run_once(
                        "stock import", ["-m", "ethos", "cloud", "stock", "import", str(stock)]
                    )
                    print("done")
            self.announce()
            mail = OutboxWatcher(self.data_dir / "outbox")
            while all(c.process and c.process.poll() is None for c in self.running):
                for line in mail.new_mail_lines():
                    print(line, flush=True)
                time.sleep(0.5)
            dead = next(c for c in self.running if c.process and c.process.poll() is not None)
            print(f"\n{dead.name} stopped unexpectedly; see {self.logs}. Stopping the demo.")
            return 1
        except KeyboardInterrupt:
            print("\nstopping …", flush=True)
            return 0
        except RuntimeError as err:
            print(f"\n{err}")
            return 1
        finally:
            self.stop_all()
            print("demo stopped")

    def announce(self) -> None:
        outbox = self.data_dir / "outbox"
        broker = (
            "Mosquitto, device identity enforced"
            if self.identity_enforced
            else "embedded, device identity NOT enforced"
        )
        print(
            "\nEthos demo is running.\n"
            f"  Store           http://{self.host}:{PORT_CLOUD}\n"
            f"  Hub             http://{self.host}:{PORT_HUB}\n"
            f"  BTCPay (sim.)   http://{self.host}:{PORT_BTCPAY}\n"
            f"  MQTT broker     mqtt://{self.host}:{self.mqtt_port} ({broker})\n"
            f"  Device          {DEMO_SERIAL} (simulated, someone comes, stays, leaves)\n"
            f"  Mail            {outbox}  (no SMTP_URL: each mail is an .eml file there)\n"
            f"  Logs            {self.logs}\n\n"
            "What to do first: open the store and create an account; the confirmation link\n"
            "is printed here as soon as the mail is written. Then buy the Ethos Presence\n"
            'Detector and pay on the BTCPay simulator\'s page: press "Pay and confirm" (or\n'
            '"Pay in full" and then "Mine blocks (confirm)"). Then open the hub, link it\n'
            "to your account and sign in: the hub gives the detector its broker account and\n"
            "it joins within seconds.\n"
            "To let presence switch a light: on the hub's Broker page make a credential\n"
            "(topic base lights/demo, node id demo_lamp), start a simulated light with it:\n"
            f"  MQTT_URL=mqtt://USERNAME:PASSWORD@{self.host}:{self.mqtt_port} ethos device "
            "simulate --kind light --base lights/demo --node-id demo_lamp\n"
            'and apply "Lights follow presence" on the detector\'s page.\n'
            f"{self.remote_note()}"
            "Press Ctrl-C to stop everything.\n",
            flush=True,
        )

    def remote_note(self) -> str:
        if not self.remote_running:
            return "Remote access: off (RabbitMQ is not installed, or ETHOS_DEMO_REMOTE=0).\n"
        env = self.remote_store_env()
        return (
            f"Remote broker   {env['ETHOS_REMOTE_BROKER_MQTT_URL']} (hubs), "
            f"{env['ETHOS_REMOTE_BROKER_WS_URL']} (browsers)\n"
            "To try remote control: on the hub's Remote access page turn it on, tick what to\n"
            'share and press "Pair a browser"; open "My home" in the store (another browser\n'
            'or a private window works as "away"), enter the code, compare the check digits,\n'
            "then watch the shared devices live and switch them from there.\n"
        )
