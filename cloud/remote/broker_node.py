"""A private RabbitMQ node in the remote broker's role: MQTT for hubs, Web-MQTT for browsers.

Everything about the node is its own: node name, data and log folders, config files,
enabled-plugins file, Erlang cookie and ports; the machine's shared RabbitMQ is never
touched. Clients authenticate with the store's short-lived JWTs (the OAuth 2.0 backend,
resource server ``ethos_broker``, keys fetched from the store's JWKS); anonymous MQTT is
refused. One internal user, the administrator, exists only for the management HTTP API
(closing connections); it has no rights on any virtual host, so it cannot publish or read.

RabbitMQ 3.10's configuration schema accepts only an https ``auth_oauth2.jwks_url``; the
plugin itself fetches over plain http as well, so the URL is set in ``advanced.config``,
which skips that schema check (a production store serves its JWKS over https anyway).

    python packaging/remote-broker/run.py --dir DIR --jwks-url URL   # see its --help
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cloud.remote.broker_const import RESOURCE_SERVER_ID, WEB_MQTT_PATH

_LOGGER = logging.getLogger(__name__)

RABBITMQ_SBIN_GLOB = "/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin"
PLUGINS = (
    "rabbitmq_mqtt",
    "rabbitmq_web_mqtt",
    "rabbitmq_auth_backend_oauth2",
    "rabbitmq_management",
)
DEFAULT_ADMIN_USER = "ethos-broker-admin"
ENV_ADMIN_PASSWORD = "ETHOS_REMOTE_BROKER_ADMIN_PASSWORD"  # noqa: S105 (a variable's name)
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


class BrokerNodeError(RuntimeError):
    """RabbitMQ is missing, or the node did not start."""


@dataclass(frozen=True)
class BrokerPorts:
    """The node's listeners; every one of them is the node's own."""

    mqtt: int
    web_mqtt: int
    management: int
    dist: int

    @classmethod
    def free(cls, host: str = "127.0.0.1") -> BrokerPorts:
        """Four ports free right now (the node binds them a few seconds later)."""
        sockets = []
        try:
            for _ in range(4):
                sock = socket.socket()
                sock.bind((host, 0))
                sockets.append(sock)
            mqtt, web_mqtt, management, dist = (s.getsockname()[1] for s in sockets)
        finally:
            for sock in sockets:
                sock.close()
        return cls(mqtt=mqtt, web_mqtt=web_mqtt, management=management, dist=dist)


@dataclass(frozen=True)
class BrokerNodeSettings:
    directory: Path
    jwks_url: str
    admin_password: str = field(repr=False)
    ports: BrokerPorts
    host: str = "127.0.0.1"  # MQTT and Web-MQTT
    management_host: str = "127.0.0.1"
    admin_user: str = DEFAULT_ADMIN_USER

    @property
    def node_name(self) -> str:
        return f"ethos-remote-{self.ports.mqtt}@localhost"


@dataclass
class BrokerNode:
    """A running node; ``stop()`` ends it."""

    settings: BrokerNodeSettings
    process: subprocess.Popen[bytes]
    started_in: float

    @property
    def mqtt_url(self) -> str:
        return f"mqtt://{_connectable(self.settings.host)}:{self.settings.ports.mqtt}"

    @property
    def ws_url(self) -> str:
        host = _connectable(self.settings.host)
        return f"ws://{host}:{self.settings.ports.web_mqtt}{WEB_MQTT_PATH}"

    @property
    def admin_url(self) -> str:
        """The management API's base, without credentials."""
        return f"http://{self.settings.management_host}:{self.settings.ports.management}"

    def log(self) -> str:
        folder = self.settings.directory / "log"
        return "".join(
            path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))
        ) + _read(self.settings.directory / "console.log")

    def stop(self) -> None:
        stop_process(self.process)


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def rabbitmq_server_binary() -> Path | None:
    """The ``rabbitmq-server`` script itself (Debian's wrapper would switch user)."""
    candidates = sorted(Path("/").glob(RABBITMQ_SBIN_GLOB.lstrip("/")))
    for folder in reversed(candidates):
        script = folder / "rabbitmq-server"
        if script.exists():
            return script
    found = shutil.which("rabbitmq-server")
    return Path(found) if found else None


def available() -> bool:
    return rabbitmq_server_binary() is not None


def rabbit_password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's ``rabbit_password_hashing_sha256``: b64(salt ‖ SHA-256(salt ‖ password))."""
    salt = secrets.token_bytes(4) if salt is None else salt
    digest = hashlib.sha256(salt + password.encode()).digest()
    return base64.b64encode(salt + digest).decode()


def _erlang_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Erlang string literal for ASCII URLs


def write_config(settings: BrokerNodeSettings) -> dict[str, str]:
    """Write the node's files under its directory; the environment that points at them."""
    base = settings.directory
    for folder in ("home", "log", "mnesia"):
        (base / folder).mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o700)
    ports, host = settings.ports, settings.host
    (base / "rabbitmq.conf").write_text(
        "\n".join(
            (
                "listeners.tcp = none",  # no AMQP 0-9-1: MQTT only
                f"mqtt.listeners.tcp.1 = {host}:{ports.mqtt}",
                "mqtt.listeners.ssl = none",
                "mqtt.allow_anonymous = false",
                "mqtt.vhost = /",
                "mqtt.exchange = amq.topic",
                f"web_mqtt.tcp.port = {ports.web_mqtt}",
                f"web_mqtt.tcp.ip = {host}",
                f"web_mqtt.ws_path = {WEB_MQTT_PATH}",
                f"management.tcp.port = {ports.management}",
                f"management.tcp.ip = {settings.management_host}",
                "auth_backends.1 = rabbit_auth_backend_oauth2",
                "auth_backends.2 = internal",
                f"auth_oauth2.resource_server_id = {RESOURCE_SERVER_ID}",
                "auth_oauth2.algorithms.1 = RS256",
                f"load_definitions = {base / 'definitions.json'}",
                "log.console = false",
                "log.file.level = info",
                "disk_free_limit.absolute = 50MB",
                # The management API lists a connection after its first statistics event:
                # every second, so the store can close a connection made a moment ago.
                "collect_statistics_interval = 1000",
                "",
            )
        )
    )
    (base / "advanced.config").write_text(
        "[{rabbitmq_auth_backend_oauth2, [{key_config, "
        f"[{{jwks_url, {_erlang_string(settings.jwks_url)}}}]}}]}}].\n"
    )
    (base / "enabled_plugins").write_text("[" + ",".join(PLUGINS) + "].\n")
    definitions = {
        "users": [
            {
                "name": settings.admin_user,
                "password_hash": rabbit_password_hash(settings.admin_password),
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
            }
        ],
        "vhosts": [{"name": "/"}],
        "permissions": [],
    }
    definitions_path = base / "definitions.json"
    definitions_path.write_text(json.dumps(definitions))
    os.chmod(definitions_path, 0o600)
    cookie = base / "home" / ".erlang.cookie"
    if not cookie.exists():
        cookie.write_text(secrets.token_hex(20))
    os.chmod(cookie, 0o400)
    return {
        "HOME": str(base / "home"),
        "RABBITMQ_NODENAME": settings.node_name,
        "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
        "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
        "RABBITMQ_LOG_BASE": str(base / "log"),
        "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
        "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
        "RABBITMQ_DIST_PORT": str(ports.dist),
        # Erlang distribution (rabbitmqctl's way in) on loopback only.
        "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        # No rabbitmq-env.conf of the machine's broker.
        "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),
    }


def start_broker_node(settings: BrokerNodeSettings, timeout: float = START_TIMEOUT) -> BrokerNode:
    """Start the node and return once MQTT, Web-MQTT and the management API answer."""
    binary = rabbitmq_server_binary()
    if binary is None:
        raise BrokerNodeError(
            "the remote broker needs RabbitMQ (Debian: apt-get install rabbitmq-server)"
        )
    began = time.monotonic()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    env.update(write_config(settings))
    (settings.directory / "rabbitmq-env.conf").touch()
    console = (settings.directory / "console.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 (a fixed program, our own arguments)
        [str(binary)],
        env=env,
        cwd=settings.directory,
        stdin=subprocess.DEVNULL,
        stdout=console,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    console.close()
    node = BrokerNode(settings=settings, process=process, started_in=0.0)
    try:
        _wait_until_ready(node, time.monotonic() + timeout)
    except BaseException:
        stop_process(process)
        raise
    node.started_in = time.monotonic() - began
    _LOGGER.info("remote broker %s ready in %.1f s", settings.node_name, node.started_in)
    return node


def _connectable(host: str) -> str:
    return {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 (a comparison)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _management_answers(node: BrokerNode) -> bool:
    settings = node.settings
    request = urllib.request.Request(f"{node.admin_url}/api/overview")  # noqa: S310 (http)
    credentials = f"{settings.admin_user}:{settings.admin_password}".encode()
    request.add_header("Authorization", "Basic " + base64.b64encode(credentials).decode())
    try:
        with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 (our http URL)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_ready(node: BrokerNode, deadline: float) -> None:
    host, ports = _connectable(node.settings.host), node.settings.ports
    while True:
        if node.process.poll() is not None:
            raise BrokerNodeError(
                f"RabbitMQ node {node.settings.node_name} exited with "
                f"{node.process.returncode}:\n{node.log()[-4000:]}"
            )
        if (
            _port_open(host, ports.mqtt)
            and _port_open(host, ports.web_mqtt)
            and _management_answers(node)
        ):
            return
        if time.monotonic() > deadline:
            raise BrokerNodeError(
                f"RabbitMQ node {node.settings.node_name} not ready in time:\n{node.log()[-4000:]}"
            )
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM (the script stops the node in order), then SIGKILL to the whole group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _LOGGER.warning("remote broker did not stop in %s s: killing it", timeout)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # what is left of the group (Erlang helpers)
    process.wait()
