"""Owned-device sync when the store misbehaves: errors, garbage, wrong shapes, downtime,
a refused refresh token, a hub restarted while the store is down. The store is replaced by
a small scripted HTTP server here (the real one cannot be made to send garbage)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from hub.core.hub import Hub
from hub.integrations.ethos_cloud import async_secret_box, cloud_runtime
from hub.integrations.ethos_cloud.const import (
    DATA_POLL_INTERVAL,
    DATA_REFRESH_TOKEN,
    DOMAIN,
)
from hub.integrations.ethos_cloud.sync import OwnedDevicesSync, SyncStatus
from tests.hub.common import make_config, running_hub
from tests.support.waiting import wait_until


@dataclass
class ScriptedStore:
    """Answers like the store, or however ``devices_mode`` / ``token_mode`` say."""

    devices: list[dict[str, Any]] = field(default_factory=list)
    devices_mode: str = "ok"
    token_mode: str = "ok"
    refresh_tokens: list[str] = field(default_factory=lambda: ["refresh-0"])
    requests: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.metadata)
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/api/v1/me/devices", self.owned)
        return app

    async def metadata(self, request: web.Request) -> web.Response:
        base = f"{request.scheme}://{request.host}"
        return web.json_response(
            {
                "issuer": base,
                "token_endpoint": f"{base}/oauth/token",
                "device_authorization_endpoint": f"{base}/oauth/device_authorization",
            }
        )

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if self.token_mode == "revoked" or form.get("refresh_token") != self.refresh_tokens[-1]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.refresh_tokens.append(f"refresh-{len(self.refresh_tokens)}")  # rotation
        return web.json_response(
            {"access_token": "access", "refresh_token": self.refresh_tokens[-1], "expires_in": 3600}
        )

    async def owned(self, request: web.Request) -> web.Response:
        self.requests.append(self.devices_mode)
        if self.devices_mode == "503":
            return web.Response(status=503, text="maintenance")
        if self.devices_mode == "garbage":
            return web.Response(text="<html>oops</html>", content_type="text/html")
        if self.devices_mode == "wrong_shape":
            return web.json_response([{"serial": "../../etc", "claim_secret": "zz"}])
        etag = f'"{len(self.devices)}"'
        if request.headers.get("If-None-Match") == etag:
            self.requests.append("304")
            return web.Response(status=304, headers={"ETag": etag})
        return web.json_response(self.devices, headers={"ETag": etag})


def unit(serial: str) -> dict[str, Any]:
    return {
        "serial": serial,
        "sku": "EPD-1",
        "name": "Presence detector",
        "claim_secret": secrets.token_hex(32),
        "order_id": "o1",
    }


@pytest.fixture
async def store() -> AsyncIterator[tuple[ScriptedStore, str]]:
    scripted = ScriptedStore()
    server = TestServer(scripted.app())
    await server.start_server()
    try:
        yield scripted, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def _link(hub: Hub, cloud_url: str) -> OwnedDevicesSync:
    box = await async_secret_box(hub)
    data = {
        "cloud_url": cloud_url,
        "client_id": "hub-1",
        "client_secret_enc": box.seal("secret"),
        "redirect_uri": "http://127.0.0.1:8181/auth/callback",
        DATA_REFRESH_TOKEN: box.seal("refresh-0"),
        "account_subject": "1",
        "account_email": "owner@example.org",
        DATA_POLL_INTERVAL: 3600,  # this test drives the rounds itself
    }
    await hub.config_entries.async_add(DOMAIN, "owner@example.org", data)
    runtime = cloud_runtime(hub)
    assert runtime is not None
    return runtime.sync


def _config(tmp_path: Path, cloud_url: str):
    return make_config(tmp_path, integrations=("mqtt", "ethos_cloud"), cloud_url=cloud_url)


async def test_the_cache_survives_garbage_errors_and_downtime_then_catches_up(
    store: tuple[ScriptedStore, str], tmp_path: Path
) -> None:
    scripted, url = store
    scripted.devices = [unit("EPD-000001")]
    async with running_hub(_config(tmp_path, url)) as hub:
        sync = await _link(hub, url)
        await sync.async_sync_once()
        assert sync.status is SyncStatus.OK and set(sync.owned) == {"EPD-000001"}
        assert await sync.async_sync_once() is False
        assert scripted.requests[-1] == "304"  # asked with the ETag: nothing changed

        for mode, status, words in (
            ("garbage", SyncStatus.STORE_ERROR, "not JSON"),
            ("wrong_shape", SyncStatus.STORE_ERROR, "malformed"),
            ("503", SyncStatus.UNREACHABLE, "503"),
        ):
            scripted.devices_mode = mode
            assert await sync.async_sync_once() is False
            assert sync.status is status and words in (sync.problem or ""), mode
            assert set(sync.owned) == {"EPD-000001"}, mode

        # The store is back with a new purchase: the next round catches up.
        scripted.devices_mode = "ok"
        scripted.devices = [unit("EPD-000001"), unit("EPD-000002")]
        assert await sync.async_sync_once() is True
        assert sync.status is SyncStatus.OK
        assert set(sync.owned) == {"EPD-000001", "EPD-000002"}

    # Restarted while the store is down: the hub starts with the saved (sealed) list.
    scripted.devices_mode = "503"
    async with running_hub(_config(tmp_path, url)) as hub:
        runtime = cloud_runtime(hub)
        assert runtime is not None
        assert set(runtime.sync.owned) == {"EPD-000001", "EPD-000002"}
        await runtime.sync.async_sync_once()
        assert runtime.sync.status is SyncStatus.UNREACHABLE
        assert set(runtime.sync.owned) == {"EPD-000001", "EPD-000002"}


async def test_an_unreachable_store_leaves_the_hub_running(tmp_path: Path) -> None:
    nowhere = "http://127.0.0.1:9"
    async with running_hub(_config(tmp_path, nowhere)) as hub:
        sync = await _link(hub, nowhere)
        await sync.async_sync_once()
        assert sync.status is SyncStatus.UNREACHABLE
        assert "cannot be reached" in (sync.problem or "")
        assert hub.config_entries.async_entries(DOMAIN)[0].state == "loaded"


async def test_a_refused_refresh_token_asks_for_a_new_link_and_keeps_the_cache(
    store: tuple[ScriptedStore, str], tmp_path: Path
) -> None:
    scripted, url = store
    scripted.devices = [unit("EPD-000003")]
    async with running_hub(_config(tmp_path, url)) as hub:
        sync = await _link(hub, url)
        await sync.async_sync_once()
        # The rotated refresh token was saved (sealed) before it was needed again.
        [entry] = hub.config_entries.async_entries(DOMAIN)
        box = await async_secret_box(hub)
        assert box.open(entry.data[DATA_REFRESH_TOKEN]) == scripted.refresh_tokens[-1]

        scripted.token_mode = "revoked"
        sync._access_token = None  # the access token expired
        await sync.async_sync_once()
        assert sync.status is SyncStatus.RELINK_REQUIRED
        assert "link it again" in (sync.problem or "")
        assert set(sync.owned) == {"EPD-000003"}


async def test_the_sync_stops_when_asked_to_poll_at_the_moment_it_stops(
    store: tuple[ScriptedStore, str], tmp_path: Path
) -> None:
    """A refresh pressed as the hub shuts down must not keep the sync loop alive."""
    scripted, url = store
    scripted.devices = [unit("EPD-000004")]
    async with running_hub(_config(tmp_path, url)) as hub:
        sync = await _link(hub, url)
        await wait_until(lambda: "ok" in scripted.requests)
        await asyncio.sleep(0.2)  # the first round is over: the loop waits for the next
        asked = len(scripted.requests)
        sync.request_sync()
        async with asyncio.timeout(5):  # the stop cancels the loop in this same step
            await sync.async_stop()
        assert len(scripted.requests) == asked  # no new round after the stop
