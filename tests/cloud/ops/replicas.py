"""Store replicas as real processes (`ethos cloud serve`) on one database, for the tests of
what must hold across replicas: once-only jobs, restores."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from tests.conftest import DatabaseTarget
from tests.support import processes

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def store_env(database: DatabaseTarget, data_dir: Path, **extra: str) -> dict[str, str]:
    """Environment of a development replica on `database`; BTCPay points nowhere (with a
    webhook secret set, nothing registers a webhook at start-up)."""
    env = {
        "ETHOS_DATA_DIR": str(data_dir),
        "DATABASE_URL": database.url,
        "BTCPAY_URL": f"http://127.0.0.1:{processes.free_port()}",
        "BTCPAY_WEBHOOK_SECRET": "replica-test-secret",
        "ETHOS_RECONCILE_SECONDS": "1",
        "LOG_LEVEL": "INFO",
        **extra,
    }
    if database.schema:
        env["ETHOS_DB_SCHEMA"] = database.schema
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ethos", "cloud", *args],
        cwd=processes.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class Replica:
    port: int
    process: subprocess.Popen[str]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@dataclass
class Replicas:
    running: list[Replica] = field(default_factory=list)

    def start(self, env: dict[str, str], log_dir: Path) -> Replica:
        port = processes.free_port()
        log = log_dir / f"replica-{port}.log"
        log_dir.mkdir(parents=True, exist_ok=True)
        with log.open("w") as stream:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ethos", "cloud", "serve", "--port", str(port)],
                cwd=processes.ROOT,
                env={**os.environ, **env},
                stdout=stream,
                stderr=subprocess.STDOUT,
                text=True,
            )
        replica = Replica(port, proc, log)
        self.running.append(replica)
        return replica

    async def wait_serving(self, replica: Replica, timeout: float = 60) -> None:
        """Until the store itself (not the start-up probe server) answers."""
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while True:
                assert replica.process.poll() is None, replica.log.read_text()[-3000:]
                try:
                    async with session.get(f"{replica.url}/api/v1/openapi.json") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                assert time.monotonic() < deadline, replica.log.read_text()[-3000:]
                await asyncio.sleep(0.2)

    def stop_all(self) -> None:
        for replica in self.running:
            processes.stop(replica.process)


async def sign_up(base_url: str, email: str, password: str) -> int:
    """Sign up through a replica's form (GET for the CSRF token, then POST)."""
    # The jar keeps cookies of an IP address only when "unsafe".
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base_url}/account/signup") as page:
            token = CSRF_RE.search(await page.text())
        assert token, "no CSRF token on the sign-up page"
        async with session.post(
            f"{base_url}/account/signup",
            data={"email": email, "password": password, "csrf_token": token.group(1)},
        ) as response:
            return response.status
