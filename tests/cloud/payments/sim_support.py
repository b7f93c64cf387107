"""The BTCPay simulator for tests: in-process by default, a separate process with --e2e.

Tests drive it through HTTP only (its Greenfield API and its test hooks), so the same test
runs against both. Webhook retry delays are compressed so nothing sleeps for minutes.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from cloud.btcpay_simulator.app import SimulatorSettings, create_simulator_app
from cloud.payments.const import RETRY_DELAYS_SECONDS
from tests.support import processes

API_KEY = "test-sim-api-key"
STORE_ID = "test-sim-store"
RETRY_SCALE = 0.002  # 10 s → 20 ms, 10 min → 1.2 s


@dataclass
class Sim:
    """A running simulator and a client for it."""

    url: str
    session: aiohttp.ClientSession
    api_key: str = API_KEY
    store_id: str = STORE_ID

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async with self.session.request(
            method,
            self.url + path,
            json=body,
            headers={"Authorization": f"token {self.api_key}"},
        ) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def create_webhook(self, url: str, secret: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"url": url, "authorizedEvents": {"everything": True}}
        if secret:
            body["secret"] = secret
        status, data = await self.call("POST", f"/api/v1/stores/{self.store_id}/webhooks", body)
        assert status == 200, data
        return data

    async def invoice(self, invoice_id: str) -> dict[str, Any]:
        status, data = await self.call(
            "GET", f"/api/v1/stores/{self.store_id}/invoices/{invoice_id}"
        )
        assert status == 200, data
        return data

    async def act(self, invoice_id: str, action: str) -> dict[str, Any]:
        """Press a test button on the checkout page (pay, pay-part, overpay, confirm, expire)."""
        async with self.session.post(
            f"{self.url}/i/{invoice_id}/test/{action}", headers={"Accept": "application/json"}
        ) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def mark(self, invoice_id: str, status: str) -> dict[str, Any]:
        code, data = await self.call(
            "POST",
            f"/api/v1/stores/{self.store_id}/invoices/{invoice_id}/status",
            {"status": status},
        )
        assert code == 200, data
        return data

    async def fail_next(
        self,
        status: int | str,
        count: int = 1,
        delay: float = 5,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next `count` API calls (with `method` and `path`, when given) fail."""
        fault = {"status": status, "count": count, "delay": delay, "method": method, "path": path}
        async with self.session.post(f"{self.url}/simulator/faults", json=fault) as response:
            assert response.status == 200

    async def deliveries(self, webhook_id: str) -> list[dict[str, Any]]:
        status, data = await self.call(
            "GET", f"/api/v1/stores/{self.store_id}/webhooks/{webhook_id}/deliveries"
        )
        assert status == 200
        return data


def compressed_delays() -> tuple[float, ...]:
    return tuple(delay * RETRY_SCALE for delay in RETRY_DELAYS_SECONDS)


def start_simulator_process() -> tuple[str, subprocess.Popen]:
    """`python -m cloud.btcpay_simulator.cli serve` on a free port (the e2e tier)."""
    port = processes.free_port()
    proc = processes.start_python(
        ["-m", "cloud.btcpay_simulator.cli", "serve", "--port", str(port)],
        env={
            "BTCPAY_API_KEY": API_KEY,
            "BTCPAY_STORE_ID": STORE_ID,
            "BTCPAY_SIM_RETRY_SCALE": str(RETRY_SCALE),
            "ETHOS_ENV": "development",
        },
    )
    processes.wait_for_port("127.0.0.1", port, proc)
    return f"http://127.0.0.1:{port}", proc


@asynccontextmanager
async def running_simulator(process_url: str | None) -> AsyncIterator[Sim]:
    """The simulator at `process_url` (a separate process), or a fresh one in-process."""
    async with aiohttp.ClientSession() as session:
        if process_url:
            yield Sim(process_url, session)
            return
        app = create_simulator_app(
            SimulatorSettings(
                api_key=API_KEY,
                store_id=STORE_ID,
                retry_delays=compressed_delays(),
                expiry_tick_seconds=0.2,
            )
        )
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield Sim(str(server.make_url("")).rstrip("/"), session)
        finally:
            await server.close()
