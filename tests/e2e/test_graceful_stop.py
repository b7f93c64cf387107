"""A store replica stopped with SIGTERM (what the stack's drain and any orchestrator send)
closes its listening socket at once and still answers the request it is working on, then
exits cleanly. The request in flight is a webhook whose invoice re-read the simulator
holds for two seconds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from cloud.payments.const import SIGNATURE_HEADER
from cloud.payments.signature import sign_body
from tests.cloud.payments.sim_support import API_KEY, STORE_ID, start_simulator_process
from tests.support import processes

pytestmark = pytest.mark.e2e_only

SECRET = "graceful-stop-webhook-secret"
HOLD_S = 2.0


def _start_store(tmp_path: Path, port: int, sim_url: str, log: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ethos", "cloud", "serve", "--port", str(port)],
        cwd=processes.ROOT,
        env={
            **os.environ,
            "ETHOS_DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'store.db'}",
            "BTCPAY_URL": sim_url,
            "BTCPAY_API_KEY": API_KEY,
            "BTCPAY_STORE_ID": STORE_ID,
            "BTCPAY_WEBHOOK_SECRET": SECRET,
            "ETHOS_RECONCILE_SECONDS": "3600",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def _wait_ready(http: aiohttp.ClientSession, base: str) -> None:
    for _ in range(600):
        try:
            async with http.get(f"{base}/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass  # between the start-up probes and the store itself
        await asyncio.sleep(0.1)
    raise AssertionError("the store never became ready")


async def test_sigterm_finishes_the_request_in_flight(tmp_path: Path):
    sim_url, sim = start_simulator_process()
    port = processes.free_port()
    log = (tmp_path / "store.log").open("wb")
    store = _start_store(tmp_path, port, sim_url, log)
    base = f"http://127.0.0.1:{port}"
    try:
        processes.wait_for_port("127.0.0.1", port, store, timeout=60)
        async with aiohttp.ClientSession(headers={"Authorization": f"token {API_KEY}"}) as http:
            await _wait_ready(http, base)
            invoice = {"amount": "10", "currency": "EUR", "metadata": {"orderId": "none"}}
            async with http.post(f"{sim_url}/api/v1/stores/{STORE_ID}/invoices", json=invoice) as r:
                invoice_id = (await r.json())["id"]
            fault = {"status": "slow", "delay": HOLD_S, "count": 1}
            async with http.post(f"{sim_url}/simulator/faults", json=fault) as r:
                assert r.status == 200
            body = json.dumps(
                {"deliveryId": "graceful-1", "type": "InvoiceSettled", "invoiceId": invoice_id}
            ).encode()
            headers = {
                SIGNATURE_HEADER: sign_body(SECRET, body),
                "Content-Type": "application/json",
            }

            async def deliver() -> tuple[int, dict]:
                async with http.post(f"{base}/webhooks/btcpay", data=body, headers=headers) as r:
                    return r.status, await r.json()

            in_flight = asyncio.create_task(deliver())
            await asyncio.sleep(HOLD_S / 4)  # the store is now waiting on the simulator
            store.send_signal(signal.SIGTERM)
            await asyncio.sleep(HOLD_S / 4)
            assert not processes.port_open("127.0.0.1", port)  # nothing new is accepted
            assert not in_flight.done()
            status, answer = await in_flight
        assert status == 200, answer  # answered, not cut off
        assert answer["status"].startswith("ignored")  # an invoice of no order of ours
        started = time.monotonic()
        assert store.wait(30) == 0
        assert time.monotonic() - started < 10
    finally:
        processes.stop(store)
        processes.stop(sim)
        log.close()
