"""Token endpoint requests/s for refresh grants, and /oauth/userinfo latency (p50, p99).

The store runs in its own process (SQLite in a temporary directory, mail to the outbox),
a bare aiohttp handler in another as the floor; the load generator is this process
(2-core machine: one core for the server, one for the client). Every server runs on the
event loop `ethos cloud serve` gives the store (uvloop where installed). Accounts and tokens are
made through the real flows: sign-up, the confirmation mail from the outbox, then
authorization code + PKCE with the reference client of the tests.
Baselines in the same run: the bare handler, and /oauth/jwks (the store's own floor:
middlewares, no database). Two more floors for the refresh grant, loaded exactly as the
refresh is (the same posted form, the same JSON read back): a bare handler that reads the
form and answers a token-shaped JSON, and with --postgres the same handler running one
trivial statement (`SELECT $1`) on an asyncpg pool sized as the store's. The second is
what any refresh needing one round trip to the database could reach on this machine.
With --postgres on this machine's own server, PostgreSQL's CPU per request (the time of
every `postgres` process, from /proc) is reported beside the store's: the database is what
all replicas share.
Several interleaved rounds; medians reported. The store's CPU time per request (its
process's user + system time, from /proc) is reported beside.
With --postgres URL each store uses a fresh schema in that PostgreSQL database instead
(dropped at the end).
With --baseline REF (a commit, e.g. main before a change) that commit is checked out in a
temporary git worktree and served as a second store, measured in the same run, the two
stores alternating within each round (their order swapped every round); the table then
shows both side by side with the ratio new / baseline.
Usage: python benchmarks/oauth_token_userinfo.py [--seconds 2] [--rounds 3] [--concurrency 8]
       [--postgres postgresql://postgres@127.0.0.1:5432/test] [--baseline REF]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.databases import async_execute, asyncpg_dsn  # noqa: E402
from tests.support.processes import free_port, stop, wait_for_port  # noqa: E402

PASSWORD = "benchmark horse battery"  # noqa: S105 (a throwaway account)
LINK_RE = re.compile(r"https?://\S+/account/confirm\?token=\S+")
TARGETS = ("GET /oauth/jwks", "GET /oauth/userinfo", "POST /oauth/token (refresh)")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The refresh grant's floors on the bare server, by the path prefix of their token endpoint.
FLOORS = {"bare POST form": "/form", "bare POST + 1 statement": "/db"}


def serve(kind: str, port: int, tree: str | None) -> None:
    from aiohttp import web

    # Every server on the loop `ethos cloud serve` runs the store on (uvloop where installed),
    # imported before a baseline's tree comes first on the path.
    from ethos.event_loop import new_server_loop

    loop = new_server_loop()
    if kind == "bare":
        app = bare_app(os.environ.get("DATABASE_URL"))
    else:
        if tree:  # the baseline's code, not this checkout's
            sys.path.insert(0, tree)
        from cloud.app import create_app
        from cloud.config import CloudSettings

        app = create_app(CloudSettings.from_env())
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=loop)


def bare_app(database_url: str | None) -> Any:
    """The floors: GET / answers a constant; POST /form/oauth/token reads the form and
    answers a token-shaped JSON; POST /db/oauth/token also runs one statement (PostgreSQL)."""
    from aiohttp import web

    answer = {
        "token_type": "Bearer",
        "access_token": "a" * 43,
        "expires_in": 600,
        "refresh_token": "r" * 43,
        "scope": "openid profile email devices",
    }

    async def constant(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def form(request: web.Request) -> web.Response:
        await request.post()
        return web.json_response(answer)

    pool_key = web.AppKey("pool", object)

    async def one_statement(request: web.Request) -> web.Response:
        posted = await request.post()
        async with request.app[pool_key].acquire() as connection:
            await connection.fetchrow("SELECT $1::text", posted["refresh_token"])
        return web.json_response(answer)

    async def pool_ctx(app: web.Application) -> AsyncIterator[None]:
        import asyncpg

        dsn = asyncpg_dsn(database_url)
        async with asyncpg.create_pool(dsn, min_size=1, max_size=4) as pool:
            app[pool_key] = pool
            yield

    app = web.Application()
    app.router.add_get("/", constant)
    app.router.add_post("/form/oauth/token", form)
    if database_url:
        app.cleanup_ctx.append(pool_ctx)
        app.router.add_post("/db/oauth/token", one_statement)
    return app


def start(
    kind: str, data_dir: str, database: dict[str, str], tree: Path = ROOT
) -> tuple[subprocess.Popen, int]:
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
    command = [sys.executable, __file__, "--serve", kind, "--port", str(port)]
    if tree != ROOT:
        command += ["--tree", str(tree)]
    proc = subprocess.Popen(command, cwd=tree, env=env)
    wait_for_port("127.0.0.1", port, proc, timeout=60)
    return proc, port


def _process_times(stat_path: Path) -> tuple[str, list[int]]:
    """A process's command name and its times in clock ticks, from /proc/<pid>/stat: user,
    system, and its reaped children's user and system."""
    name, fields = stat_path.read_text().split(" (", 1)[1].rsplit(")", 1)
    return name, [int(value) for value in fields.split()[11:15]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    _name, times = _process_times(Path(f"/proc/{pid}/stat"))
    return sum(times[:2]) / CLOCK_TICKS


def database_cpu_seconds() -> float:
    """User + system CPU time so far of every process of the local PostgreSQL server, the
    backends that exited included (a pool that closes connections: the postmaster, their
    parent, holds their time once it has reaped them)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            name, times = _process_times(entry / "stat")
        except OSError:  # gone meanwhile
            continue
        if name == "postgres":
            total += sum(times)  # own time, and reaped
    return total / CLOCK_TICKS


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


async def refresh_load(
    base_url: str, refresh_tokens: list[str], seconds: float
) -> tuple[float, list[float]]:
    """Each worker follows its own rotation chain; refreshes/s and every latency."""
    import aiohttp

    latencies: list[float] = []
    url = f"{base_url}/oauth/token"

    async def chain(session: aiohttp.ClientSession, index: int) -> None:
        while time.perf_counter() < deadline:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": refresh_tokens[index],
                "client_id": "ethos-mobile",
            }
            began = time.perf_counter()
            async with session.post(url, data=form) as response:
                body = await response.json()
                assert response.status == 200, body
            latencies.append(time.perf_counter() - began)
            refresh_tokens[index] = body["refresh_token"]

    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=len(refresh_tokens))
    ) as session:
        started = time.perf_counter()
        deadline = started + seconds
        await asyncio.gather(*(chain(session, i) for i in range(len(refresh_tokens))))
        return len(latencies) / (time.perf_counter() - started), latencies


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


@dataclass
class Figures:
    """Per target, one value a round: requests/s, p50 and p99 (ms), store CPU ms/request."""

    rate: dict[str, list[float]] = field(default_factory=dict)
    p50: dict[str, list[float]] = field(default_factory=dict)
    p99: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    db: dict[str, list[float]] = field(default_factory=dict)  # PostgreSQL CPU ms/request

    def add(
        self,
        target: str,
        rate: float,
        samples: list[float],
        cpu_ms: float | None,
        db_ms: float | None = None,
    ) -> None:
        self.rate.setdefault(target, []).append(rate)
        self.p50.setdefault(target, []).append(percentile(samples, 0.50) * 1000)
        self.p99.setdefault(target, []).append(percentile(samples, 0.99) * 1000)
        if cpu_ms is not None:
            self.cpu.setdefault(target, []).append(cpu_ms)
        if db_ms is not None:
            self.db.setdefault(target, []).append(db_ms)

    def median(self, kind: str, target: str) -> float:
        values = getattr(self, kind).get(target)
        return statistics.median(values) if values else float("nan")


@dataclass
class Store:
    """One store under test: its process, address, outbox and the tokens made on it."""

    name: str
    process: subprocess.Popen
    url: str
    outbox: Path
    figures: Figures = field(default_factory=Figures)
    chains: list[str] = field(default_factory=list)
    bearer: dict[str, str] = field(default_factory=dict)

    async def prepare(self, concurrency: int) -> None:
        sessions = await make_sessions(self.url, self.outbox, concurrency + 1)
        self.chains = [s.refresh_token for s in sessions[1:]]
        self.bearer = {"Authorization": f"Bearer {sessions[0].access_token}"}

    async def measure_round(self, seconds: float, concurrency: int, postgres: bool) -> None:
        for target in TARGETS:
            before = cpu_seconds(self.process.pid)
            db_before = database_cpu_seconds() if postgres else 0.0
            if target == "GET /oauth/jwks":
                rate, samples = await get_load(self.url + "/oauth/jwks", seconds, concurrency)
            elif target == "GET /oauth/userinfo":
                rate, samples = await get_load(
                    self.url + "/oauth/userinfo", seconds, concurrency, self.bearer
                )
            else:
                rate, samples = await refresh_load(self.url, self.chains, seconds)
            used = cpu_seconds(self.process.pid) - before
            db_used = database_cpu_seconds() - db_before if postgres else None
            requests = max(1, len(samples))
            self.figures.add(
                target,
                rate,
                samples,
                used * 1000 / requests,
                db_used * 1000 / requests if db_used is not None else None,
            )


async def measure(args: argparse.Namespace, stores: list[Store], bare_url: str) -> None:
    for store in stores:
        await store.prepare(args.concurrency)
    floor = Figures()
    dummies = ["unused"] * args.concurrency
    for index in range(args.rounds):  # interleaved so drift hits all alike
        rate, samples = await get_load(bare_url + "/", args.seconds, args.concurrency)
        floor.add("bare handler", rate, samples, None)
        for name, path in FLOORS.items():
            if path == "/db" and not args.postgres:
                continue
            rate, samples = await refresh_load(bare_url + path, list(dummies), args.seconds)
            floor.add(name, rate, samples, None)
        for store in stores if index % 2 == 0 else reversed(stores):
            await store.measure_round(args.seconds, args.concurrency, bool(args.postgres))
    report(args, stores, floor)


def report(args: argparse.Namespace, stores: list[Store], floor: Figures) -> None:
    bare_rate = floor.median("rate", "bare handler")
    print(
        f"{args.rounds} rounds of {args.seconds:g} s, {args.concurrency} concurrent clients, "
        f"medians over rounds; database: {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    print(
        f"bare handler: {bare_rate:.0f} req/s, p50 {floor.median('p50', 'bare handler'):.2f} ms, "
        f"p99 {floor.median('p99', 'bare handler'):.2f} ms"
    )
    for name in FLOORS:
        if name in floor.rate:
            print(
                f"{name}: {floor.median('rate', name):.0f} req/s "
                f"({floor.median('rate', name) / bare_rate:.2f} of bare), "
                f"p50 {floor.median('p50', name):.2f} ms, p99 {floor.median('p99', name):.2f} ms"
            )
    header = f"{'target':30} {'store':10} {'req/s':>7} {'/ bare':>7} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"\n{header} {'CPU ms/req':>10} {'DB ms/req':>9}   req/s by round")
    for target in TARGETS:
        for store in stores:
            figures = store.figures
            rate = figures.median("rate", target)
            rounds = ", ".join(f"{value:.0f}" for value in figures.rate[target])
            print(
                f"{target:30} {store.name:10} {rate:7.0f} {rate / bare_rate:7.2f} "
                f"{figures.median('p50', target):8.2f} {figures.median('p99', target):8.2f} "
                f"{figures.median('cpu', target):10.2f} {figures.median('db', target):9.2f}"
                f"   {rounds}"
            )
    refresh, one_statement = TARGETS[2], "bare POST + 1 statement"
    if one_statement in floor.rate:
        reachable = floor.median("rate", one_statement)
        for store in stores:
            print(
                f"{refresh} {store.name}: {store.figures.median('rate', refresh) / reachable:.2f} "
                f"of the one-statement floor"
            )
    if len(stores) == 2:
        base, new = stores
        print(f"\nratios {new.name} / {base.name} (req/s: higher is better; p99, CPU: lower)")
        for target in TARGETS:
            ratios = [
                _ratio(new.figures.median(kind, target), base.figures.median(kind, target))
                for kind in ("rate", "p99", "cpu", "db")
            ]
            print(
                f"{target:30} req/s x{ratios[0]:.2f}   p99 x{ratios[1]:.2f}   CPU x{ratios[2]:.2f}"
                f"   DB CPU x{ratios[3]:.2f}"
            )


def _ratio(new: float, base: float) -> float:
    return new / base if base else float("nan")  # no database work: no ratio


def baseline_worktree(ref: str, into: Path) -> str:
    """Check `ref` out (detached) in a temporary worktree; returns the commit it names."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{ref}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), commit],
        check=True,
        capture_output=True,
    )
    return commit


def remove_worktree(path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
        check=False,
        capture_output=True,
    )
    shutil.rmtree(path, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per target per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", metavar="URL", help="use a fresh schema in this database")
    parser.add_argument("--baseline", metavar="REF", help="also measure this commit, alternating")
    parser.add_argument("--serve", choices=["bare", "cloud"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tree", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.tree)
        return
    with tempfile.TemporaryDirectory() as work, ExitStack() as cleanup:
        trees = {"new": ROOT}
        if args.baseline:
            tree = Path(work) / "baseline"
            commit = baseline_worktree(args.baseline, tree)
            cleanup.callback(remove_worktree, tree)
            print(f"baseline: {args.baseline} = {commit}")
            trees = {"baseline": tree, "new": ROOT}
        bare, bare_port = start("bare", work, {"DATABASE_URL": args.postgres or ""})
        cleanup.callback(stop, bare)
        stores = []
        for name, tree in trees.items():
            database: dict[str, str] = {}
            if args.postgres:
                schema = f"bench_{os.getpid()}_{name}"
                asyncio.run(async_execute(args.postgres, f'CREATE SCHEMA "{schema}"'))
                cleanup.callback(
                    lambda s=schema: asyncio.run(
                        async_execute(args.postgres, f'DROP SCHEMA "{s}" CASCADE')
                    )
                )
                database = {"DATABASE_URL": args.postgres, "ETHOS_DB_SCHEMA": schema}
            data_dir = Path(work) / f"data-{name}"
            data_dir.mkdir()
            process, port = start("cloud", str(data_dir), database, tree)
            cleanup.callback(stop, process)
            stores.append(Store(name, process, f"http://127.0.0.1:{port}", data_dir / "outbox"))
        asyncio.run(measure(args, stores, f"http://127.0.0.1:{bare_port}"))


if __name__ == "__main__":
    main()
