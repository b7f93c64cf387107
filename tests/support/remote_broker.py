"""The remote broker for the e2e tier: one private RabbitMQ node per test session.

``remote_broker`` (session fixture, e2e tier only) starts the node of
``cloud.remote.broker_node`` on free ports, in a folder of its own, removed afterwards. Its
OAuth 2.0 backend reads the JWKS of a small server in this process (``RemoteBroker.jwks``):
a test publishes the public keys it signs with (``jwks.publish(key_ring.published)``, a
test store's key ring for example), or has it pass on a store process's own JWKS
(``jwks.follow(store_url + "/oauth/jwks")``, read afresh at each request); the broker
fetches them when it sees a new ``kid``.
``start_remote_broker`` starts a node pointed at any other JWKS URL (a store's
``/oauth/jwks``) for a test that needs one of its own.

``observe`` is a wildcard subscriber with full rights (an internal user made for it through
the management API, removed after): what passes through the broker, for the plaintext check.

``RawMqtt`` speaks MQTT 3.1.1 from hand-built packets over TCP or a WebSocket, as the
browser's client does; it sees at once when the broker closes the connection (RabbitMQ's
answer to a refused subscribe or publish), where a full client waits for its timeout.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import shutil
import tempfile
import threading
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import aiomqtt
import pytest
from joserfc.jwk import KeySet, RSAKey

from cloud.remote import broker_node
from cloud.remote.broker_admin import RabbitMQBrokerAdmin
from cloud.remote.broker_node import BrokerNode, BrokerNodeSettings, BrokerPorts

JWKS_PATH = "/oauth/jwks"
JWKS_FETCH_TIMEOUT = 10.0


class JwksServer:
    """Serves a JWKS that tests add public keys to, on a free port, in a thread."""

    def __init__(self) -> None:
        self._keys: dict[str, dict[str, Any]] = {}
        self._followed: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                body = json.dumps({"keys": server.keys()}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{JWKS_PATH}"

    def keys(self) -> list[dict[str, Any]]:
        """The published keys, then those of every followed JWKS as it is now."""
        with self._lock:
            keys, followed = list(self._keys.values()), list(self._followed)
        for url in followed:
            with urllib.request.urlopen(url, timeout=JWKS_FETCH_TIMEOUT) as response:  # noqa: S310 (a test store's URL)
                keys.extend(json.load(response)["keys"])
        return keys

    def follow(self, url: str) -> None:
        """Serve the keys of the JWKS at URL too (a store process's ``/oauth/jwks``)."""
        with self._lock:
            self._followed.append(url)

    def unfollow(self, url: str) -> None:
        with self._lock:
            self._followed.remove(url)

    def publish(self, keys: Iterable[RSAKey]) -> None:
        """Add these keys' public halves (a key ring's ``published``, or one key in a list)."""
        public = KeySet(list(keys)).as_dict(private=False)["keys"]
        with self._lock:
            for jwk in public:
                self._keys[jwk["kid"]] = jwk

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@dataclass
class RemoteBroker:
    node: BrokerNode
    jwks: JwksServer | None
    admin_user: str
    admin_password: str = field(repr=False)

    @property
    def host(self) -> str:
        return self.node.settings.host

    @property
    def mqtt_port(self) -> int:
        return self.node.settings.ports.mqtt

    @property
    def web_mqtt_port(self) -> int:
        return self.node.settings.ports.web_mqtt

    @property
    def mqtt_url(self) -> str:
        return self.node.mqtt_url

    @property
    def ws_url(self) -> str:
        return self.node.ws_url

    @property
    def admin_url(self) -> str:
        """The management API with its credentials (``ETHOS_REMOTE_BROKER_ADMIN_URL``)."""
        return self.node.admin_url.replace(
            "http://", f"http://{self.admin_user}:{self.admin_password}@", 1
        )

    def admin(self, session: aiohttp.ClientSession) -> RabbitMQBrokerAdmin:
        return RabbitMQBrokerAdmin(
            session, self.node.admin_url, self.admin_user, self.admin_password
        )


def start_remote_broker(directory: Path, jwks_url: str) -> RemoteBroker:
    """A node reading JWKS_URL; stop it with ``broker.node.stop()``."""
    password = secrets.token_urlsafe(18)
    settings = BrokerNodeSettings(
        directory=directory, jwks_url=jwks_url, admin_password=password, ports=BrokerPorts.free()
    )
    node = broker_node.start_broker_node(settings)
    return RemoteBroker(
        node=node, jwks=None, admin_user=settings.admin_user, admin_password=password
    )


@pytest.fixture(scope="session")
def remote_broker(pytestconfig: pytest.Config) -> Iterator[RemoteBroker]:
    if not pytestconfig.getoption("--e2e"):
        pytest.skip("the remote broker runs in the e2e tier (pytest --e2e)")
    if not broker_node.available():
        pytest.fail(
            "the remote-broker tests need RabbitMQ (Debian: apt-get install rabbitmq-server)"
        )
    jwks = JwksServer()
    directory = Path(tempfile.mkdtemp(prefix="ethos-remote-broker-"))
    try:
        broker = start_remote_broker(directory, jwks.url)
        broker.jwks = jwks
        try:
            yield broker
        finally:
            broker.node.stop()
    finally:
        jwks.close()
        shutil.rmtree(directory, ignore_errors=True)


async def _async_management(
    broker: RemoteBroker, method: str, path: str, body: dict[str, Any] | None = None
) -> None:
    credentials = base64.b64encode(f"{broker.admin_user}:{broker.admin_password}".encode())
    headers = {"Authorization": f"Basic {credentials.decode()}"}
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, f"{broker.node.admin_url}{path}", json=body, headers=headers
        ) as response,
    ):
        if response.status not in (200, 201, 204):
            raise AssertionError(f"{method} {path}: {response.status} {await response.text()}")


@dataclass
class Observed:
    """What an observer saw: (topic, payload, retained) in arrival order."""

    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def payloads(self) -> list[bytes]:
        return [payload for _, payload, _ in self.messages]

    async def async_wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                self.arrived.clear()
                await self.arrived.wait()


@asynccontextmanager
async def observe(broker: RemoteBroker, topic_filter: str = "#") -> AsyncIterator[Observed]:
    """Subscribe with full rights to TOPIC_FILTER; what passes through lands in the result."""
    user, password = f"observer-{secrets.token_hex(6)}", secrets.token_urlsafe(18)
    await _async_management(broker, "PUT", f"/api/users/{user}", {"password": password, "tags": ""})
    await _async_management(
        broker,
        "PUT",
        f"/api/permissions/%2F/{user}",
        {"configure": ".*", "write": ".*", "read": ".*"},
    )
    observed = Observed()
    try:
        async with aiomqtt.Client(
            broker.host, broker.mqtt_port, username=user, password=password, identifier=user
        ) as client:
            await client.subscribe(topic_filter, qos=1)

            async def collect() -> None:
                async for message in client.messages:
                    payload = message.payload if isinstance(message.payload, bytes) else b""
                    observed.messages.append((str(message.topic), payload, message.retain))
                    observed.arrived.set()

            task = asyncio.create_task(collect())
            try:
                yield observed
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
    finally:
        await _async_management(broker, "DELETE", f"/api/users/{user}")


def _mqtt_string(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return len(data).to_bytes(2, "big") + data


def _remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(out)


def mqtt_connect(client_id: str, username: str | None, password: str | None) -> bytes:
    """An MQTT 3.1.1 CONNECT with a clean session and a 60 s keep-alive."""
    flags = 0x02 | (0x80 if username else 0) | (0x40 if password else 0)
    body = _mqtt_string("MQTT") + bytes([4, flags]) + (60).to_bytes(2, "big")
    body += _mqtt_string(client_id)
    if username:
        body += _mqtt_string(username)
    if password:
        body += _mqtt_string(password)
    return b"\x10" + _remaining_length(len(body)) + body


def mqtt_subscribe(packet_id: int, topic_filter: str, qos: int = 1) -> bytes:
    body = packet_id.to_bytes(2, "big") + _mqtt_string(topic_filter) + bytes([qos])
    return b"\x82" + _remaining_length(len(body)) + body


def mqtt_publish(packet_id: int, topic: str, payload: bytes) -> bytes:
    """A QoS 1 PUBLISH (answered by a PUBACK when allowed)."""
    body = _mqtt_string(topic) + packet_id.to_bytes(2, "big") + payload
    return b"\x32" + _remaining_length(len(body)) + body


CONNACK_ACCEPTED = b"\x20\x02\x00\x00"
MQTT_READ_TIMEOUT = 10.0


class RawMqtt:
    """One MQTT connection over TCP; ``None`` from ``read`` means the broker closed it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, broker: RemoteBroker, client_id: str, username: str | None, password: str | None
    ) -> AsyncIterator[tuple[RawMqtt, bytes | None]]:
        """Open, send CONNECT; yields the connection and the CONNACK (None: closed)."""
        reader, writer = await asyncio.open_connection(broker.host, broker.mqtt_port)
        raw = cls(reader, writer)
        try:
            raw.send(mqtt_connect(client_id, username, password))
            yield raw, await raw.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def send(self, packet: bytes) -> None:
        self._writer.write(packet)

    async def read(self) -> bytes | None:
        try:
            async with asyncio.timeout(MQTT_READ_TIMEOUT):
                first = await self._reader.readexactly(1)
                length, shift = 0, 0
                while True:
                    byte = (await self._reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                return first + _remaining_length(length) + await self._reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
