"""Token endpoint requests/s for refresh grants, and /oauth/userinfo latency (p50, p99).

The store runs in its own process (SQLite in a temporary directory, mail to the outbox),
a bare aiohttp handler in another as the floor; the load generator is this process
(2-core machine: one core for the server, one for the client). Accounts and tokens are
made through the real flows: sign-up, the confirmation mail from the outbox, then
authorization code + PKCE with the reference client of the tests.
Baselines in the same run: the bare handler, and /oauth/jwks (the store's own floor:
middlewares, no database). Several interleaved rounds; medians reported.
With --postgres URL the store uses a fresh schema in that PostgreSQL database instead.
Usage: python benchmarks/oauth_token_userinfo.py [--seconds 2] [--rounds 3] [--concurrency 8]
       [--postgres postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes, policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import free_port, stop, wait_for_port  # noqa: E402

PASSWORD = "benchmark horse battery"  # noqa: S105 (a throwaway account)
LINK_RE = re.compile(r"https?://\S+/account/confirm\?token=\S+")


def serve(kind: str, port: int) -> None:
    from aiohttp import web

    if kind == "bare":

        async def constant(_request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_get("/", constant)
    else:
        from cloud.app import create_app
        from cloud.config import CloudSettings

        app = create_app(CloudSettings.from_env())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def start(kind: str, data_dir: str, database: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "ETHOS_DATA_DIR": data_dir,
        "ETHOS_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
    }
    for name in ("DATABASE_URL", "SMTP_URL", "ETHOS_DB_SCHEMA"):
        env.pop(name, None)
    env.update(database)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--port", str(port)], cwd=ROOT, env=env
    )
    wait_for_port("127.0.0.1", port, proc, timeout=60)
    return proc, port


def _find_link(outbox: Path, email: str) -> str | None:
    for path in outbox.glob("*.eml"):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == email:
            match = LINK_RE.search(message.get_body(("plain",)).get_content())
            return match.group(0) if match else None
    return None


async def _confirmation_link(outbox: Path, email: str) -> str:
    for _ in range(200):
        if link := await asyncio.to_thread(_find_link, outbox, email):
            return link
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no confirmation mail for {email} in {outbox}")


async def make_sessions(base_url: str, outbox: Path, count: int) -> list:
    """`count` token sets for one confirmed account, through the real flows."""
    import httpx

    from tests.support.oidc_client import OidcClient, StoreBrowser

    email = f"bench-{time.time_ns()}@example.org"
    browser = StoreBrowser(base_url)
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{base_url}/api/v1/account/signup", json={"email": email, "password": PASSWORD}
        )
        assert response.status_code == 202, response.text
        link = await _confirmation_link(outbox, email)
        await browser.confirm(link.replace(base_url, ""), PASSWORD)  # confirms, signs in
        mobile = OidcClient(base_url, "ethos-mobile", http, redirect_uri=f"{base_url}/app/callback")
        sessions = []
        for _ in range(count):
            request = await mobile.authorization_request("openid profile email devices")
            callback = await browser.authorize(request.url, mobile.redirect_uri)
            sessions.append(await mobile.exchange_code(callback, request))
    await browser.aclose()
    return sessions


async def refresh_rate(base_url: str, refresh_tokens: list[str], seconds: float) -> float:
    """Each worker follows its own rotation chain; returns refreshes per second."""
    import aiohttp

    done = 0
    url = f"{base_url}/oauth/token"

    async def chain(session: aiohttp.ClientSession, index: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh_tokens[index],
                "client_id": "ethos-mobile",
            }
            async with session.post(url, data=form) as response:
                body = await response.json()
                assert response.status == 200, body
            refresh_tokens[index] = body["refresh_token"]
            done += 1

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=len(refresh_tokens))
    ) as session:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(chain(session, i) for i in range(len(refresh_tokens))))
        return done / (time.perf_counter() - started)


async def get_load(
    url: str, seconds: float, concurrency: int, headers: dict[str, str] | None = None
) -> tuple[float, list[float]]:
    """Requests/s and every request's latency (seconds) under `concurrency` workers."""
    import aiohttp

    latencies: list[float] = []

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                assert response.status == 200, response.status
            latencies.append(time.perf_counter() - began)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        for _ in range(20):  # warm-up
            async with session.get(url, headers=headers) as response:
                await response.read()
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        return len(latencies) / (time.perf_counter() - started), latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure(args: argparse.Namespace, cloud_url: str, bare_url: str, outbox: Path) -> None:
    sessions = await make_sessions(cloud_url, outbox, args.concurrency + 1)
    chains = [s.refresh_token for s in sessions[1:]]
    bearer = {"Authorization": f"Bearer {sessions[0].access_token}"}
    rates: dict[str, list[float]] = {"bare handler": [], "GET /oauth/jwks": [], "refresh": []}
    latency: dict[str, dict[str, list[float]]] = {
        name: {"p50": [], "p99": []} for name in ("bare handler", "GET /oauth/jwks", "userinfo")
    }
    for _ in range(args.rounds):  # interleaved so drift hits all alike
        for name, url, headers in (
            ("bare handler", bare_url + "/", None),
            ("GET /oauth/jwks", cloud_url + "/oauth/jwks", None),
            ("userinfo", cloud_url + "/oauth/userinfo", bearer),
        ):
            rate, samples = await get_load(url, args.seconds, args.concurrency, headers)
            if name in rates:
                rates[name].append(rate)
            latency[name]["p50"].append(percentile(samples, 0.50) * 1000)
            latency[name]["p99"].append(percentile(samples, 0.99) * 1000)
        rates["refresh"].append(await refresh_rate(cloud_url, chains, args.seconds))

    floor = statistics.median(rates["bare handler"])
    print(f"throughput, {args.concurrency} concurrent clients")
    print(f"{'target':32} {'median req/s':>12} {'ratio to bare':>14}   rounds")
    for name, values in rates.items():
        label = "POST /oauth/token (refresh)" if name == "refresh" else name
        median = statistics.median(values)
        rounds = ", ".join(f"{v:.0f}" for v in values)
        print(f"{label:32} {median:12.0f} {median / floor:14.2f}   {rounds}")
    print(f"\nlatency, {args.concurrency} concurrent clients (ms, medians over rounds)")
    bare_p99 = statistics.median(latency["bare handler"]["p99"])
    print(f"{'target':32} {'p50':>8} {'p99':>8} {'p99 / bare p99':>15}")
    for name, values in latency.items():
        label = "GET /oauth/userinfo" if name == "userinfo" else name
        p50, p99 = statistics.median(values["p50"]), statistics.median(values["p99"])
        print(f"{label:32} {p50:8.2f} {p99:8.2f} {p99 / bare_p99:15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="use a fresh schema in this database")
    parser.add_argument("--serve", choices=["bare", "cloud"])
    parser.add_argument("--port", type=int)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    database: dict[str, str] = {}
    if args.postgres:
        schema = f"bench_{os.getpid()}"
        asyncio.run(_postgres(args.postgres, f'CREATE SCHEMA "{schema}"'))
        database = {"DATABASE_URL": args.postgres, "ETHOS_DB_SCHEMA": schema}
    with tempfile.TemporaryDirectory() as data_dir:
        bare, bare_port = start("bare", data_dir, {})
        cloud, cloud_port = start("cloud", data_dir, database)
        try:
            asyncio.run(
                measure(
                    args,
                    f"http://127.0.0.1:{cloud_port}",
                    f"http://127.0.0.1:{bare_port}",
                    Path(data_dir) / "outbox",
                )
            )
        finally:
            stop(bare)
            stop(cloud)
            if database:
                asyncio.run(
                    _postgres(args.postgres, f'DROP SCHEMA "{database["ETHOS_DB_SCHEMA"]}" CASCADE')
                )


async def _postgres(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


if __name__ == "__main__":
    main()
