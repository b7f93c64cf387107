"""Payments fixtures: the simulator (shared with checkout), a Greenfield client for it, and a
webhook receiver that records raw deliveries."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cloud.payments.greenfield import GreenfieldClient
from tests.cloud.checkout.shop import (  # noqa: F401
    shop,
    shop_without_webhook,
    sim,
    simulator_process,
)


@pytest.fixture
async def greenfield(sim):  # noqa: F811 (the fixture above)
    async with aiohttp.ClientSession() as session:
        yield GreenfieldClient(session, sim.url, sim.api_key, sim.store_id, 5.0)


class Receiver:
    """A webhook endpoint that records raw deliveries and answers from a script."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = list(answers or [])
        self.received: list[tuple[float, bytes, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((asyncio.get_running_loop().time(), body, dict(request.headers)))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body, _ in self.received]


@pytest.fixture
async def receiver(sim):  # noqa: F811 (the fixture above)
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/hook", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    recorder.url = str(server.make_url("/hook"))
    yield recorder
    await server.close()
    # Leave a shared (e2e) simulator without webhooks pointing here.
    _status, hooks = await sim.call("GET", f"/api/v1/stores/{sim.store_id}/webhooks")
    for hook in hooks:
        if hook["url"] == recorder.url:
            await sim.call("DELETE", f"/api/v1/stores/{sim.store_id}/webhooks/{hook['id']}")
