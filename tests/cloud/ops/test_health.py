"""`/healthz` and `/readyz`: alive without the database, ready only when the database, the
schema and BTCPay are; a replica started wrongly refuses or waits and says why."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import aiohttp
from sqlalchemy import text

from cloud.app import create_app
from cloud.ops.const import READY_CHECK_TIMEOUT_SECONDS
from cloud.ops.health import async_run_checks
from cloud.payments.settings import BtcpaySettings
from cloud.web.keys import ENGINE
from tests.support import processes

PRODUCTION_ENV = {
    "ETHOS_ENV": "production",
    "ETHOS_SECRET_KEY": "x" * 40,
    "ETHOS_BASE_URL": "https://shop.example.org",
    "SMTP_URL": "smtp://127.0.0.1:1",
    "BTCPAY_URL": "https://127.0.0.1:1",
    "BTCPAY_API_KEY": "a-real-looking-key",
    "BTCPAY_STORE_ID": "a-real-store",
    "BTCPAY_WEBHOOK_SECRET": "a-real-webhook-secret",
}


async def test_a_working_store_is_alive_and_ready(shop):
    alive = await shop.client.get("/healthz")
    assert alive.status == 200
    assert (await alive.json())["status"] == "alive"
    ready = await shop.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 200, body
    assert body["failing"] == {}
    assert set(body["checked"]) == {"database", "migrations", "btcpay"}


async def test_an_unreachable_btcpay_makes_readyz_fail_with_the_reason(
    aiohttp_client, cloud_settings
):
    dead = f"http://127.0.0.1:{processes.free_port()}"
    settings = replace(cloud_settings, btcpay=BtcpaySettings(url=dead, webhook_secret="s"))
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    assert set(body["failing"]) == {"btcpay"}
    assert "cannot be reached" in body["failing"]["btcpay"]


async def test_a_schema_not_at_this_codes_head_makes_readyz_fail(shop):
    async with shop.app[ENGINE].begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'elsewhere'"))
    ready = await shop.client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503
    # BTCPay's check is bounded by the client's timeout (1 s in tests), which a loaded
    # machine can overrun: it is not this test's subject, the database's and the schema's are.
    assert "database" not in body["failing"] and "migrations" in body["failing"]
    assert "'elsewhere'" in body["failing"]["migrations"]
    assert "ethos cloud migrate" in body["failing"]["migrations"]
    assert (await shop.client.get("/healthz")).status == 200


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ethos", "cloud", "serve", "--port", str(port)],
        cwd=processes.ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_replica_in_production_refuses_an_unmigrated_database(tmp_path: Path):
    database = tmp_path / "empty.db"
    env = {
        **PRODUCTION_ENV,
        "ETHOS_DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{database}",
    }
    proc = _serve(env, processes.free_port())
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        processes.stop(proc)
    assert proc.returncode == 1
    assert "refusing to serve" in err
    assert "database schema is at nothing" in err
    assert "run `ethos cloud migrate`" in err


async def test_a_wrong_database_url_keeps_healthz_up_and_readyz_names_it(tmp_path: Path):
    port = processes.free_port()
    nowhere = f"postgresql://ethos@127.0.0.1:{processes.free_port()}/ethos"
    proc = _serve({"ETHOS_DATA_DIR": str(tmp_path), "DATABASE_URL": nowhere}, port)
    try:
        deadline = time.monotonic() + 30
        while not processes.port_open("127.0.0.1", port, 0.2):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the replica never listened"
            await asyncio.sleep(0.1)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as alive:
                assert alive.status == 200
            async with session.get(f"http://127.0.0.1:{port}/readyz") as ready:
                body = await ready.json()
                assert ready.status == 503
            async with session.get(f"http://127.0.0.1:{port}/products") as page:
                assert page.status == 503
        assert set(body["failing"]) == {"database"}
        assert "cannot reach the database" in body["failing"]["database"]
        assert proc.poll() is None
    finally:
        processes.stop(proc)


async def test_a_check_that_overruns_is_reported_but_never_cancelled_midway():
    # Cancelling a query midway can spoil its pooled connection for the next request.
    started: list[float] = []
    finished = asyncio.Event()

    async def slow_database() -> None:
        started.append(time.monotonic())
        await asyncio.sleep(READY_CHECK_TIMEOUT_SECONDS + 0.5)
        finished.set()

    in_flight: dict[str, asyncio.Task[None]] = {}
    first = await async_run_checks({"database": slow_database}, in_flight)
    assert "no answer within" in first["database"]
    # The next probe waits for the same run instead of starting another one.
    second = await async_run_checks({"database": slow_database}, in_flight)
    assert finished.is_set() and len(started) == 1
    assert second == {} and in_flight == {}
