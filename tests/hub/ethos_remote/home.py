"""A linked hub with remote access, a fake store that answers the hub-session API as
REMOTE.md fixes it, a broker, and paired browsers (tests/support/remote_browser.py) on it."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from aiohttp import encode_basic_auth, web
from aiohttp.test_utils import TestClient

from ethos.tasks import async_cancel_and_wait
from hub.core.hub import Hub
from hub.integrations.ethos_remote import RemoteAccess, remote_access
from hub.web.keys import HUB_KEY
from tests.hub.ethos_cloud.test_sync_resilience import ScriptedStore
from tests.support.remote_browser import RemoteBrowser
from tests.support.waiting import wait_until

CLIENT_SECRET = "secret"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CODE = re.compile(r'id="pairing-code">([0-9A-Z-]+)<')


@dataclass
class RemoteStore(ScriptedStore):
    """The store's side: owned devices (ScriptedStore) and ``/api/v1/remote/hub-session``."""

    hub_id: str = ""
    broker_url: str = ""
    session_mode: str = "ok"  # "ok", "503", "401", "403"
    expires_in: float = 600
    sessions: list[dict[str, Any]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    token_script: list[str] = field(default_factory=list)  # handed out first, in order
    attempts: int = 0  # every call, refused ones too
    # Real broker tokens (the e2e tier's RabbitMQ): the token and the client id it is tied to.
    mint: Callable[[], tuple[str, str]] | None = None
    client_ids: list[str] = field(default_factory=list)  # one per session handed out

    def app(self) -> web.Application:
        app = super().app()
        app.router.add_post("/api/v1/remote/hub-session", self.hub_session)
        return app

    async def hub_session(self, request: web.Request) -> web.Response:
        self.attempts += 1
        expected = encode_basic_auth(self.hub_id, CLIENT_SECRET)
        sent = request.headers.get("Authorization", "")
        if self.session_mode == "401" or not hmac.compare_digest(sent, expected):
            return web.json_response({"error": "invalid_client"}, status=401)
        body = await request.json()
        self.sessions.append(body)
        if self.session_mode == "403":  # a client registered before 32-hex client ids
            return web.json_response(
                {"error": "invalid_client", "error_description": "register again"}, status=403
            )
        if self.session_mode == "503":
            return web.json_response({"error": "remote_unavailable"}, status=503)
        if body.get("enabled") is False:
            return web.json_response({"enabled": False})
        scripted = self.token_script.pop(0) if self.token_script else None
        token, client_id = (
            self.mint()
            if self.mint is not None
            else (
                f"token-{len(self.tokens)}-{secrets.token_hex(4)}",
                f"hub-{self.hub_id}-{secrets.token_hex(16)}",
            )
        )
        self.tokens.append(scripted or token)
        self.client_ids.append(client_id)
        return web.json_response(
            {
                "broker_url": self.broker_url,
                "token": self.tokens[-1],
                "client_id": client_id,
                "expires_in": self.expires_in,
                "topic_root": f"ethos-home/{self.hub_id}",
            }
        )


# How a browser logs in to the broker: aiomqtt keywords (username, password, identifier);
# None: anonymously (the default tier's broker, the shared Mosquitto).
BrowserLogin = Callable[[], dict[str, Any]]


def _client(url: str, login: BrowserLogin | None) -> aiomqtt.Client:
    parts = urlsplit(url)
    return aiomqtt.Client(
        parts.hostname or "127.0.0.1",
        parts.port or 1883,
        socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
        **(login() if login else {}),
    )


@dataclass
class Heard:
    topic: str
    payload: bytes
    retain: bool


class Listener:
    """A browser tab's MQTT connection: everything under the hub's topics, as it arrives."""

    def __init__(self, client: aiomqtt.Client, hub_id: str) -> None:
        self.client = client
        self.root = f"ethos-home/{hub_id}/"
        self.heard: list[Heard] = []
        self._task: asyncio.Task[None] | None = None

    @classmethod
    @asynccontextmanager
    async def connect(
        cls, url: str, hub_id: str, login: BrowserLogin | None = None
    ) -> AsyncIterator[Listener]:
        async with _client(url, login) as client:
            listener = cls(client, hub_id)
            await client.subscribe(f"ethos-home/{hub_id}/#", qos=1)
            listener._task = asyncio.get_running_loop().create_task(listener._listen())
            try:
                yield listener
            finally:
                await async_cancel_and_wait(listener._task)

    async def _listen(self) -> None:
        async for message in self.client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            if not message.topic.value.startswith(self.root):
                continue  # the in-process broker hands a new subscriber other retained topics
            self.heard.append(Heard(message.topic.value, bytes(payload), bool(message.retain)))

    def on(self, topic: str) -> list[Heard]:
        return [h for h in self.heard if h.topic == topic]


@dataclass
class PairedBrowser:
    """A RemoteBrowser paired with the hub, reading its own topics on the broker."""

    browser: RemoteBrowser
    listener: Listener

    @property
    def hub(self) -> str:
        return self.browser.hub

    def replies(self) -> list[dict[str, Any]]:
        bodies = []
        for heard in self.listener.on(self.browser.reply_topic):
            with contextlib.suppress(ValueError):
                bodies.append(_open_fresh(self.browser, heard.topic, heard.payload))
        return bodies

    async def send(self, entity_id: str, service: str, data: dict[str, Any] | None = None) -> str:
        command_id, payload = self.browser.command(entity_id, service, data)
        await self.listener.client.publish(self.browser.cmd_topic, payload, qos=1)
        return command_id

    async def reply_to(self, command_id: str, timeout: float = 10) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((r for r in self.replies() if r.get("id") == command_id), None)

        await wait_until(found, timeout)
        answer = found()
        assert answer is not None
        return answer

    def latest_snapshot(self) -> dict[str, Any] | None:
        topic = f"ethos-home/{self.hub}/state"
        for heard in reversed(self.listener.on(topic)):
            if heard.payload:
                with contextlib.suppress(ValueError):
                    return _open_fresh(self.browser, topic, heard.payload)
        return None

    def keys_payloads(self) -> list[bytes]:
        return [h.payload for h in self.listener.on(self.browser.keys_topic)]

    def take_latest_keys(self) -> str | None:
        """Unwrap the household key last published for this browser; its kid (None: the
        keys topic was cleared)."""
        payloads = self.keys_payloads()
        key = self.browser.accept_keys(payloads[-1]) if payloads else None
        return key.kid if key is not None else None


def _open_fresh(browser: RemoteBrowser, topic: str, payload: bytes) -> dict[str, Any]:
    """Open a hub message without the browser's replay guard (tests look at one twice)."""
    from hub.integrations.ethos_remote.envelope import open_sealed

    assert browser.household is not None
    return open_sealed(browser.household, topic, payload).body


@dataclass
class RemoteHome:
    client: TestClient
    store: RemoteStore
    hub_id: str
    broker_url: str
    login: BrowserLogin | None = None

    @property
    def hub(self) -> Hub:
        return self.client.server.app[HUB_KEY]  # type: ignore[union-attr]

    @property
    def remote(self) -> RemoteAccess:
        remote = remote_access(self.hub)
        assert remote is not None
        return remote

    async def csrf(self) -> str:
        page = await self.client.get("/remote")
        assert page.status == 200, await page.text()
        match = CSRF.search(await page.text())
        assert match, "no CSRF token on /remote"
        return match.group(1)

    async def share(self, *entity_ids: str, enabled: bool = True) -> None:
        form: list[tuple[str, str]] = [("csrf", await self.csrf())]
        if enabled:
            form.append(("enabled", "on"))
        form += [("entity_id", e) for e in entity_ids]
        answer = await self.client.post("/remote/sharing", data=form, allow_redirects=False)
        assert answer.status == 303, await answer.text()

    async def pairing_code(self) -> str:
        answer = await self.client.post(
            "/remote/pair", data={"csrf": await self.csrf()}, allow_redirects=False
        )
        assert answer.status == 303, await answer.text()
        page = await (await self.client.get("/remote")).text()
        match = CODE.search(page)
        assert match, page
        return match.group(1)

    @asynccontextmanager
    async def browser(self, code: str, name: str = "Phone") -> AsyncIterator[PairedBrowser]:
        browser = RemoteBrowser(self.hub_id, name)
        async with Listener.connect(self.broker_url, self.hub_id, self.login) as listener:
            async with (
                _client(self.broker_url, self.login) as pairer,
                browser.async_session(pairer),
            ):
                await browser.async_pair(pairer, code)
            yield PairedBrowser(browser, listener)

    async def wait_connected(self, connections: int = 1) -> None:
        await wait_until(
            lambda: (
                self.remote.uplink is not None
                and self.remote.uplink.connected.is_set()
                and self.remote.uplink.connections >= connections
            ),
            timeout=15,
        )


def switch_config(prefix: str, object_id: str, name: str, device: str) -> tuple[str, str]:
    """A discovery config for an optimistic switch (state follows commands)."""
    config = {
        "name": name,
        "uniq_id": f"{device}_{object_id}",
        "cmd_t": f"{prefix}/{device}/{object_id}/set",
        "dev": {"ids": [f"{prefix}-{device}"], "name": device.title()},
    }
    return f"{prefix}/switch/{device}/{object_id}/config", json.dumps(config)
