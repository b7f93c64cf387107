"""The simulator's delivery chaos (storm tests): round-robin targets, drops, duplicates,
reordering and forgeries, each seen by real webhook endpoints that check signatures.

Always an in-process simulator: chaos is simulator-wide, and the e2e tier's simulator
process is shared with other tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cloud.payments.const import SIGNATURE_HEADER
from cloud.payments.signature import signature_matches
from tests.cloud.payments.sim_support import Sim, running_simulator
from tests.support.waiting import wait_until

SECRET = "chaos-test-webhook-secret"


@dataclass
class Endpoint:
    """A store-like webhook endpoint: refuses a bad signature with 401, records the rest."""

    url: str = ""
    accepted: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    trusting: bool = False  # accepts anything: a broken endpoint

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not self.trusting and not signature_matches(
            SECRET, body, request.headers.get(SIGNATURE_HEADER)
        ):
            self.refused += 1
            return web.Response(status=401)
        self.accepted.append(json.loads(body))
        return web.Response(status=200)


@pytest.fixture
async def chaos_sim() -> AsyncIterator[Sim]:
    async with running_simulator(None) as sim:
        yield sim


@pytest.fixture
async def endpoints() -> AsyncIterator[list[Endpoint]]:
    found, servers = [], []
    for _ in range(2):
        endpoint = Endpoint()
        app = web.Application()
        app.router.add_post("/webhooks/btcpay", endpoint.handle)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        endpoint.url = str(server.make_url("/webhooks/btcpay"))
        found.append(endpoint)
        servers.append(server)
    yield found
    for server in servers:
        await server.close()


async def _chaos(sim: Sim, **settings: Any) -> tuple[int, dict[str, Any]]:
    async with sim.session.post(f"{sim.url}/simulator/chaos", json=settings) as response:
        return response.status, await response.json()


async def _counts(sim: Sim) -> dict[str, int]:
    async with sim.session.get(f"{sim.url}/simulator/chaos") as response:
        return (await response.json())["counts"]


async def _invoices(sim: Sim, count: int) -> list[str]:
    ids = []
    for n in range(count):
        status, invoice = await sim.call(
            "POST",
            f"/api/v1/stores/{sim.store_id}/invoices",
            {"amount": "10", "currency": "EUR", "metadata": {"orderId": f"o{n}"}},
        )
        assert status == 200, invoice
        ids.append(invoice["id"])
    return ids


async def test_deliveries_go_round_robin_across_the_targets(chaos_sim, endpoints):
    await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    status, _ = await _chaos(chaos_sim, targets=[e.url for e in endpoints])
    assert status == 200
    await _invoices(chaos_sim, 4)
    await wait_until(lambda: sum(len(e.accepted) for e in endpoints) == 4)
    assert [len(e.accepted) for e in endpoints] == [2, 2]


async def test_every_forgery_is_counted_by_the_answer_it_got(chaos_sim, endpoints):
    await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    await _chaos(chaos_sim, targets=[e.url for e in endpoints], forge=1.0, seed=7)
    await _invoices(chaos_sim, 6)
    await wait_until(lambda: sum(e.refused for e in endpoints) == 6)
    counts = await _counts(chaos_sim)
    assert counts["forge"] == 6
    assert counts["forge_refused"] == 6
    assert "forge_accepted" not in counts
    assert sum(len(e.accepted) for e in endpoints) == 6  # the genuine ones still arrive


async def test_a_forgery_an_endpoint_accepts_is_reported(chaos_sim, endpoints):
    # An endpoint that checks nothing: the simulator must report it, not hide it.
    await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    endpoints[1].trusting = True
    await _chaos(chaos_sim, targets=[endpoints[1].url], forge=1.0, seed=1)
    await _invoices(chaos_sim, 2)
    counts = await _eventually(chaos_sim, lambda c: c.get("forge_accepted", 0) == 2)
    assert counts["forge"] == 2 and "forge_refused" not in counts


async def _eventually(sim: Sim, predicate: Any, timeout: float = 10.0) -> dict[str, int]:
    """The simulator's chaos counters once `predicate(counts)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        counts = await _counts(sim)
        if predicate(counts):
            return counts
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"counters never matched: {counts}")
        await asyncio.sleep(0.02)


async def test_dropped_deliveries_are_never_sent_nor_retried(chaos_sim, endpoints):
    hook = await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    await _chaos(chaos_sim, drop=1.0)
    await _invoices(chaos_sim, 3)
    await _eventually(chaos_sim, lambda c: c.get("drop", 0) == 3)
    deliveries = await chaos_sim.deliveries(hook["id"])
    assert [d["status"] for d in deliveries] == ["Failed"] * 3
    await asyncio.sleep(0.3)  # past the first (compressed) retry delays
    assert endpoints[0].accepted == [] and endpoints[0].refused == 0


async def test_duplicates_repeat_the_same_delivery(chaos_sim, endpoints):
    await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    await _chaos(chaos_sim, targets=[e.url for e in endpoints], duplicate=1.0)
    await _invoices(chaos_sim, 2)
    await wait_until(lambda: sum(len(e.accepted) for e in endpoints) == 4)
    ids = [body["deliveryId"] for e in endpoints for body in e.accepted]
    assert len(set(ids)) == 2
    assert all(ids.count(i) == 2 for i in ids)


async def test_reordered_deliveries_are_overtaken(chaos_sim, endpoints):
    await chaos_sim.create_webhook(endpoints[0].url, SECRET)
    await _chaos(chaos_sim, reorder=1.0, reorder_delay=0.3, seed=3)
    ids = await _invoices(chaos_sim, 8)
    await wait_until(lambda: len(endpoints[0].accepted) == 8)
    arrived = [body["invoiceId"] for body in endpoints[0].accepted]
    assert sorted(arrived) == sorted(ids)
    assert arrived != ids  # held back at random: not in the order they were raised


@pytest.mark.parametrize(
    "settings",
    [{"drop": 1.5}, {"targets": ["ftp://x"]}, {"forge": "yes"}, {"surprise": 1}],
)
async def test_bad_chaos_settings_are_refused(chaos_sim, settings):
    status, body = await _chaos(chaos_sim, **settings)
    assert status == 422 and body["code"] == "invalid-chaos"
