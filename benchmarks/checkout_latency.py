"""Checkout latency (order + BTCPay invoice) at 50 concurrent buyers, and webhooks per second.

Three processes on this 2-core machine: the BTCPay simulator, the store (SQLite by default,
or --database-url), and this load generator. Each buyer is a browser session that opens the
product page, adds it to the cart, opens the checkout page and submits it; the latency is
that last POST (order placed, stock reserved, invoice created at BTCPay, redirect).

Three loads, each round:
- alone: one buyer at a time (the service time, no queueing);
- concurrent: 50 buyers shopping at once for --seconds, each pausing 1–3 s between pages
  (a load test's "concurrent users" with think time, arriving over the first 8 s),
  buying again and again;
- burst: 50 buyers who all start at the same instant (a stress figure: every checkout queues
  behind the others, so its p99 is about 50 × the store's CPU time per buyer).
Baselines measured in the same run: the invoice round trip alone (POST …/invoices straight
to the simulator, 50 at once), the invoice re-fetch alone for webhooks, and the disk's own
flush latency during the concurrent phase (a probe syncing 4 KiB every 50 ms): every
checkout commits twice, so a flush the disk holds up shows in its tail. The store's CPU
time per buyer (from /proc) says how many buyers a second one core can serve. It is
measured twice: over the concurrent phase (the figure the goals were set with, which also
counts the visits still under way when the phase ends, and the store's idle work, against
the purchases completed), and over the burst, where every one of the 50 visits completes.
Several rounds; medians of the per-round figures are reported.
The floor of that CPU figure, measured in the same rounds: a bare aiohttp server (on the
store's event loop) answering a buyer's four requests with this tree's own product and
checkout pages as constant bytes, a cookie and the two redirects, loaded exactly as the
store is (the same buyers, think times and burst). Its CPU per buyer is what serving the
four requests costs before any of the store's work; the report also gives each store's
CPU per buyer above it.

`--baseline REF` (default: main as it was before the checkout-cost work) checks REF out
into a temporary git worktree and runs its store, its simulator and its own database beside
this tree's, with the same loads, alternating rounds (this tree first in even rounds), and
prints both side by side with the ratio this tree / baseline.
Usage: python benchmarks/checkout_latency.py [--buyers 50] [--seconds 15] [--rounds 3]
       [--baseline REF|none] [--database-url postgresql+asyncpg://…] [--tmp-dir /dev/shm]
       [--profile FILE]
       python benchmarks/checkout_latency.py --serve-floor PAGES_DIR --port PORT  (the floor)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.databases import new_postgres_database  # noqa: E402
from tests.support.processes import free_port, stop, wait_for_port  # noqa: E402

API_KEY = "bench-api-key"
STORE = "bench-store"
WEBHOOK_SECRET = "bench-webhook-secret"  # noqa: S105 (a local benchmark's own secret)
# main when the checkout-cost work began: today's code, for --baseline.
BASELINE_REF = "db7adcbeadac335813a164b90c006070b3443144"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


THINK_SECONDS = (1.0, 3.0)
PROBE_INTERVAL_S = 0.05
GOAL_MS = 50  # checkouts slower than this are counted


class DiskFlushProbe:
    """Baseline for the disk: every 50 ms, write 4 KiB and fdatasync it, as a COMMIT does,
    in a file beside the database (the same disk as PostgreSQL's here). A flush the disk
    holds for tens of milliseconds delays every COMMIT waiting on it, whatever the code."""

    def __init__(self, folder: str) -> None:
        self._path = Path(folder) / "flush-probe"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.latencies: list[float] = []

    def __enter__(self) -> DiskFlushProbe:
        self.latencies = []
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="flush-probe", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            block = os.urandom(4096)
            while not self._stop.wait(PROBE_INTERVAL_S):
                os.pwrite(fd, block, 0)
                start = time.perf_counter()
                os.fdatasync(fd)
                self.latencies.append(time.perf_counter() - start)
        finally:
            os.close(fd)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def wait_for_page(url: str, process: subprocess.Popen, timeout: float = 120.0) -> None:
    """Until `url` answers 200 (the process still running)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (local)
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:g} s")


async def no_pause() -> None:
    return None


async def one_buyer(
    base: str, latencies: list[float], pause: Callable[[], Awaitable[None]] = no_pause
) -> str:
    """One buyer's visit; `pause` is awaited before each page (the buyer's think time)."""
    import aiohttp

    # unsafe: keep cookies set by an IP-address host (127.0.0.1).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await pause()
        async with session.get(f"{base}/products/EPD-1") as response:
            token = CSRF_RE.search(await response.text()).group(1)
        data = {"sku": "EPD-1", "quantity": "1", "csrf_token": token}
        await pause()
        async with session.post(f"{base}/cart/add", data=data, allow_redirects=False) as r:
            assert r.status == 303, r.status
        await pause()
        async with session.get(f"{base}/checkout") as response:
            token = CSRF_RE.search(await response.text()).group(1)
        await pause()
        form = {
            "email": f"{secrets.token_hex(4)}@bench.example",
            "csrf_token": token,
            **SHIPPING_ADDRESS,
        }
        start = time.perf_counter()
        async with session.post(f"{base}/checkout", data=form, allow_redirects=False) as r:
            await r.read()
            latencies.append(time.perf_counter() - start)
            assert r.status == 303, (r.status, await r.text())
            return r.headers["Location"].rsplit("/", 1)[-1]


# A buyer's shipping address (every checkout asks for one).
SHIPPING_ADDRESS = {
    "ship_name": "Bench Buyer",
    "ship_line1": "1 Test Street",
    "ship_postcode": "75001",
    "ship_city": "Paris",
    "ship_country": "FR",
}


async def concurrent_buyers(
    base: str, buyers: int, seconds: float, seed: int
) -> tuple[list[float], list[str]]:
    """`buyers` shoppers with think time, each buying again and again until time is up."""
    rng = random.Random(seed)
    latencies: list[float] = []
    orders: list[str] = []
    deadline = time.perf_counter() + seconds

    async def pause() -> None:
        await asyncio.sleep(rng.uniform(*THINK_SECONDS))

    async def shopper() -> None:
        # Buyers arrive over one visit's length (a load test's ramp-up), not all at once:
        # the same-instant case is the burst, measured separately.
        await asyncio.sleep(rng.uniform(0, 4 * sum(THINK_SECONDS) / 2))
        while time.perf_counter() < deadline:
            orders.append(await one_buyer(base, latencies, pause))

    await asyncio.gather(*(shopper() for _ in range(buyers)))
    return latencies, orders


async def invoice_baseline(sim: str, buyers: int) -> list[float]:
    import aiohttp

    latencies: list[float] = []
    headers = {"Authorization": f"token {API_KEY}"}
    body = {"amount": "49.00", "currency": "EUR", "metadata": {"orderId": "baseline"}}

    async with aiohttp.ClientSession(headers=headers) as session:

        async def create() -> None:
            start = time.perf_counter()
            async with session.post(f"{sim}/api/v1/stores/{STORE}/invoices", json=body) as r:
                await r.read()
            latencies.append(time.perf_counter() - start)

        await asyncio.gather(*(create() for _ in range(buyers)))
    return latencies


def webhook_body(invoice_id: str) -> bytes:
    delivery = secrets.token_hex(11)
    return json.dumps(
        {
            "deliveryId": delivery,
            "webhookId": "bench",
            "originalDeliveryId": delivery,
            "isRedelivery": False,
            "type": "InvoiceSettled",
            "timestamp": int(time.time()),
            "storeId": STORE,
            "invoiceId": invoice_id,
            "metadata": {},
            "manuallyMarked": True,
            "overPaid": False,
        },
        indent=2,
    ).encode()


async def webhooks_per_second(base: str, sim: str, invoice_ids: list[str]) -> tuple[float, float]:
    """Settle every invoice in BTCPay, then deliver one signed webhook each (20 at a time):
    (webhooks/s with allocation, re-fetches/s of the same invoices straight from BTCPay)."""
    import aiohttp

    headers = {"Authorization": f"token {API_KEY}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        for invoice_id in invoice_ids:
            url = f"{sim}/api/v1/stores/{STORE}/invoices/{invoice_id}/status"
            async with session.post(url, json={"status": "Settled"}) as r:
                assert r.status == 200
        gate = asyncio.Semaphore(20)

        async def deliver(invoice_id: str) -> None:
            body = webhook_body(invoice_id)
            sig = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
            async with (
                gate,
                session.post(
                    f"{base}/webhooks/btcpay",
                    data=body,
                    headers={"BTCPay-Sig": sig, "Content-Type": "application/json"},
                ) as r,
            ):
                answer = await r.json()
                assert r.status == 200 and answer["status"] == "paid", answer

        start = time.perf_counter()
        await asyncio.gather(*(deliver(i) for i in invoice_ids))
        hooks = len(invoice_ids) / (time.perf_counter() - start)

        async def refetch(invoice_id: str) -> None:
            async with gate, session.get(f"{sim}/api/v1/stores/{STORE}/invoices/{invoice_id}") as r:
                await r.read()

        start = time.perf_counter()
        await asyncio.gather(*(refetch(i) for i in invoice_ids))
        fetches = len(invoice_ids) / (time.perf_counter() - start)
    return hooks, fetches


async def invoice_ids_of(database_url: str, order_ids: list[str]) -> list[str]:
    """The orders' invoice ids, read with plain SQL (the baseline's models may differ)."""
    from sqlalchemy import bindparam, text
    from sqlalchemy.ext.asyncio import create_async_engine

    query = text("SELECT invoice_id FROM orders WHERE id IN :ids").bindparams(
        bindparam("ids", expanding=True)
    )
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            ids = [row[0] for row in await connection.execute(query, {"ids": order_ids})]
    finally:
        await engine.dispose()
    assert len(ids) == len(order_ids) and None not in ids, "some orders have no invoice"
    return ids


@dataclass
class Target:
    """One store under test: its code (a checkout), its simulator, its database."""

    name: str
    code: Path
    folder: str
    db_url: str
    procs: list[subprocess.Popen] = field(default_factory=list)
    base: str = ""
    sim: str = ""
    figures: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in FIGURES})

    @property
    def store_pid(self) -> int:
        return self.procs[1].pid


# Per-round figures, by key.
FIGURES = (
    *("c50", "c99", "slow", "rate", "cpu", "p50", "p99", "b50", "b99", "hooks", "fetch"),
    *("s50", "f50", "f999", "fmax", "fslow", "bcpu"),
)


def ethos(
    args: list[str], env: dict[str, str], code: Path, profile: str | None = None
) -> subprocess.Popen:
    """`ethos ARGS` from the checkout `code` (its own modules first on sys.path)."""
    prefix = ["-m", "cProfile", "-o", profile] if profile else []
    return subprocess.Popen(
        [sys.executable, *prefix, "-m", "ethos.cli", *args],
        cwd=code,
        env={**os.environ, **env},
    )


def start_target(target: Target, units: int, profile: str | None) -> None:
    sim_port, cloud_port = free_port(), free_port()
    target.base, target.sim = f"http://127.0.0.1:{cloud_port}", f"http://127.0.0.1:{sim_port}"
    env = {
        "ETHOS_DATA_DIR": target.folder,
        "DATABASE_URL": target.db_url,
        "ETHOS_BASE_URL": target.base,
        "BTCPAY_URL": target.sim,
        "BTCPAY_API_KEY": API_KEY,
        "BTCPAY_STORE_ID": STORE,
        "BTCPAY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "ETHOS_RECONCILE_SECONDS": "3600",
        "LOG_LEVEL": "WARNING",
    }
    stock = Path(target.folder) / "stock.csv"
    stock.write_text(
        "serial,sku,claim_secret\n"
        + "".join(f"EPD-{n:06d},EPD-1,{secrets.token_hex(32)}\n" for n in range(1, units + 1))
    )
    # The import migrates the database first (development).
    assert ethos(["cloud", "stock", "import", str(stock)], env, target.code).wait() == 0
    target.procs = [
        ethos(["btcpay-sim", "serve", "--port", str(sim_port)], env, target.code),
        ethos(["cloud", "serve", "--port", str(cloud_port)], env, target.code, profile),
    ]
    wait_for_port("127.0.0.1", sim_port, target.procs[0])
    wait_for_port("127.0.0.1", cloud_port, target.procs[1], timeout=120)
    # The store's port answers probes while it waits for its database, then closes
    # until the app has started: wait for a store page.
    wait_for_page(f"{target.base}/products/EPD-1", target.procs[1])


async def concurrent_phase(
    args: argparse.Namespace, base: str, pid: int, round_no: int, figures: dict[str, list[float]]
) -> tuple[list[float], float]:
    """The concurrent buyers against `base` (served by process `pid`): CPU per buyer,
    checkout p99 and rate appended to `figures`; returns the checkout latencies and the
    phase's length."""
    cpu_before, start = cpu_seconds(pid), time.perf_counter()
    shopping, bought = await concurrent_buyers(base, args.buyers, args.seconds, round_no)
    elapsed = time.perf_counter() - start
    figures["cpu"].append((cpu_seconds(pid) - cpu_before) * 1000 / len(bought))
    figures["c99"].append(percentile(shopping, 99) * 1000)
    figures["rate"].append(len(bought) / elapsed)
    return shopping, elapsed


async def burst(
    args: argparse.Namespace, base: str, pid: int, figures: dict[str, list[float]]
) -> tuple[list[float], list[str]]:
    """The buyers all at the same instant: CPU per buyer and checkout p99 appended to
    `figures`; returns the checkout latencies and the orders."""
    latencies: list[float] = []
    cpu_before = cpu_seconds(pid)
    orders = await asyncio.gather(*(one_buyer(base, latencies) for _ in range(args.buyers)))
    figures["bcpu"].append((cpu_seconds(pid) - cpu_before) * 1000 / args.buyers)
    figures["p99"].append(percentile(latencies, 99) * 1000)
    return latencies, list(orders)


async def one_round(args: argparse.Namespace, target: Target, round_no: int) -> None:
    """Every load of one round against one store; its figures appended to the target's."""
    base, sim, figures = target.base, target.sim, target.figures
    alone: list[float] = []
    for _ in range(10):  # one buyer at a time: the service time without queueing
        await one_buyer(base, alone)
    figures["s50"].append(statistics.median(alone) * 1000)
    with DiskFlushProbe(target.folder) as probe:
        shopping, elapsed = await concurrent_phase(args, base, target.store_pid, round_no, figures)
    figures["c50"].append(statistics.median(shopping) * 1000)
    figures["slow"].append(1000 * sum(v * 1000 > GOAL_MS for v in shopping) / len(shopping))
    figures["f50"].append(statistics.median(probe.latencies) * 1000)
    figures["f999"].append(percentile(probe.latencies, 99.9) * 1000)
    figures["fmax"].append(max(probe.latencies) * 1000)
    figures["fslow"].append(sum(v * 1000 > GOAL_MS for v in probe.latencies) / elapsed * 60)
    latencies, orders = await burst(args, base, target.store_pid, figures)
    baseline = await invoice_baseline(sim, args.buyers)
    figures["p50"].append(statistics.median(latencies) * 1000)
    figures["b50"].append(statistics.median(baseline) * 1000)
    figures["b99"].append(percentile(baseline, 99) * 1000)
    invoice_ids = await invoice_ids_of(target.db_url, orders)
    hooks, fetches = await webhooks_per_second(base, sim, invoice_ids)
    figures["hooks"].append(hooks)
    figures["fetch"].append(fetches)


# The floor's copies of this tree's pages, captured from its store before the rounds.
FLOOR_PAGES = ("product.html", "checkout.html")
# The figures measured on the floor (the loads a buyer's four requests meet).
FLOOR_FIGURES = ("cpu", "bcpu", "c99", "p99", "rate")


def floor_app(pages: Path) -> Any:
    """A buyer's four requests answered with no work: the captured pages as constant bytes
    (with a session cookie, as the store sets), the posted forms read, the redirects."""
    from aiohttp import web

    product, checkout = ((pages / name).read_bytes() for name in FLOOR_PAGES)
    cookie = secrets.token_urlsafe(32)

    def page(body: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(_request: web.Request) -> web.Response:
            response = web.Response(body=body, content_type="text/html")
            response.set_cookie("session", cookie, httponly=True, samesite="Lax")
            return response

        return handler

    def redirect(to: Callable[[], str]) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handler(request: web.Request) -> web.Response:
            await request.post()
            return web.Response(status=303, headers={"Location": to()})

        return handler

    app = web.Application()
    app.router.add_get("/products/EPD-1", page(product))
    app.router.add_post("/cart/add", redirect(lambda: "/cart"))
    app.router.add_get("/checkout", page(checkout))
    app.router.add_post("/checkout", redirect(lambda: f"/orders/{secrets.token_hex(8)}"))
    return app


def serve_floor(pages: Path, port: int) -> None:
    from aiohttp import web

    from ethos.event_loop import new_server_loop

    loop = new_server_loop()
    web.run_app(
        floor_app(pages), host="127.0.0.1", port=port, print=None, access_log=None, loop=loop
    )


async def capture_pages(base: str, folder: Path) -> None:
    """The product and checkout pages a buyer of `base` receives, saved for the floor."""
    import aiohttp

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{base}/products/EPD-1") as response:
            product = await response.read()
        token = CSRF_RE.search(product.decode()).group(1)
        data = {"sku": "EPD-1", "quantity": "1", "csrf_token": token}
        async with session.post(f"{base}/cart/add", data=data, allow_redirects=False) as r:
            assert r.status == 303, r.status
        async with session.get(f"{base}/checkout") as response:
            checkout = await response.read()
    for name, body in zip(FLOOR_PAGES, (product, checkout), strict=True):
        (folder / name).write_bytes(body)


def start_floor(floor: Target, pages: Path) -> None:
    port = free_port()
    floor.base = f"http://127.0.0.1:{port}"
    command = [sys.executable, __file__, "--serve-floor", str(pages), "--port", str(port)]
    floor.procs = [subprocess.Popen(command, cwd=ROOT)]
    wait_for_port("127.0.0.1", port, floor.procs[0])


async def floor_round(args: argparse.Namespace, floor: Target, round_no: int) -> None:
    """The concurrent phase and the burst against the floor, as against a store."""
    pid = floor.procs[0].pid
    await concurrent_phase(args, floor.base, pid, round_no, floor.figures)
    await burst(args, floor.base, pid, floor.figures)


async def run(args: argparse.Namespace, targets: list[Target], floor: Target) -> None:
    """Alternate the targets round by round (the first goes first in even rounds), so a
    machine that slows down or speeds up during the run weighs on both alike; the floor
    is loaded in every round too, between them."""
    for target in (*targets, floor):
        await asyncio.gather(*(one_buyer(target.base, []) for _ in range(5)))  # warm-up
    for round_no in range(args.rounds):
        order = targets if round_no % 2 == 0 else targets[::-1]
        for index, target in enumerate(order):
            print(f"round {round_no + 1}/{args.rounds}: {target.name}", file=sys.stderr)
            await one_round(args, target, round_no)
            if index == 0:
                print(f"round {round_no + 1}/{args.rounds}: floor", file=sys.stderr)
                await floor_round(args, floor, round_no)


@contextlib.contextmanager
def baseline_checkout(ref: str, folder: str) -> Iterator[Path]:
    """REF checked out into a temporary git worktree (removed afterwards)."""
    path = Path(folder) / "baseline-code"
    git = ["git", "-C", str(ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(path), ref], check=True)
    try:
        yield path
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(path)], check=False)


@contextlib.asynccontextmanager
async def database_for(args: argparse.Namespace, name: str, folder: str) -> AsyncIterator[str]:
    """A fresh SQLite file in `folder`, or a PostgreSQL database of its own (dropped after)."""
    if not args.database_url:
        yield f"sqlite+aiosqlite:///{folder}/bench.db"
        return
    os.environ["DATABASE_URL"] = args.database_url  # the server new_postgres_database uses
    async with new_postgres_database(f"bench_checkout_{name}") as url:
        yield url


def describe(ref: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or ref


async def main_async(args: argparse.Namespace) -> tuple[list[Target], Target]:
    # Each concurrent buyer buys about once every 4 × 2 s of think time.
    per_round = args.buyers + 10 + int(args.buyers * args.seconds / 6) + 50
    units = per_round * args.rounds + 100
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(dir=args.tmp_dir))
        codes = [("this tree", ROOT)]
        if args.baseline != "none":
            code = stack.enter_context(baseline_checkout(args.baseline, tmp))
            codes.append((f"baseline {describe(args.baseline)}", code))
        targets: list[Target] = []
        async with contextlib.AsyncExitStack() as databases:
            for index, (name, code) in enumerate(codes):
                folder = Path(tmp) / f"target-{index}"
                folder.mkdir()
                db_url = await databases.enter_async_context(
                    database_for(args, str(index), str(folder))
                )
                targets.append(Target(name, code, str(folder), db_url))
            pages = Path(tmp) / "floor-pages"
            pages.mkdir()
            floor = Target("floor", ROOT, str(pages), "")
            try:
                for index, target in enumerate(targets):
                    start_target(target, units, args.profile if index == 0 else None)
                await capture_pages(targets[0].base, pages)
                start_floor(floor, pages)
                await run(args, targets, floor)
            finally:
                for target in (*targets, floor):
                    for proc in target.procs:
                        stop(proc, timeout=30)
    return targets, floor


# (key, label, unit, format) of the side-by-side table, in the order printed.
ROWS = (
    ("s50", "one buyer alone, checkout p50", "ms", "{:8.1f}"),
    ("c50", "concurrent buyers, checkout p50", "ms", "{:8.1f}"),
    ("c99", "concurrent buyers, checkout p99", "ms", "{:8.1f}"),
    ("slow", f"concurrent, checkouts over {GOAL_MS} ms", "/1000", "{:8.1f}"),
    ("rate", "concurrent, checkouts", "/s", "{:8.1f}"),
    ("cpu", "store CPU per buyer (4 pages)", "ms", "{:8.2f}"),
    ("bcpu", "store CPU per buyer in the burst", "ms", "{:8.2f}"),
    ("p50", "burst at the same instant, p50", "ms", "{:8.1f}"),
    ("p99", "burst at the same instant, p99", "ms", "{:8.1f}"),
    ("hooks", "webhooks (settle+allocate+mail)", "/s", "{:8.0f}"),
    ("b50", "invoice only, all at once, p50", "ms", "{:8.1f}"),
    ("b99", "invoice only, all at once, p99", "ms", "{:8.1f}"),
    ("fetch", "invoice re-fetch alone", "/s", "{:8.0f}"),
    ("f50", "disk flush probe p50", "ms", "{:8.2f}"),
    ("f999", "disk flush probe p99.9", "ms", "{:8.1f}"),
)


def report(args: argparse.Namespace, targets: list[Target], floor: Target) -> None:
    med = [{key: statistics.median(v) for key, v in t.figures.items()} for t in targets]
    bare = {key: statistics.median(floor.figures[key]) for key in FLOOR_FIGURES}
    backend = "PostgreSQL" if args.database_url else "SQLite"
    low, high = THINK_SECONDS
    print(
        f"checkout (order + invoice), {backend}, {args.buyers} buyers ({low:g}–{high:g} s "
        f"between pages, {args.seconds:g} s concurrent phase), median of {args.rounds} rounds"
        + (", rounds alternated" if len(targets) > 1 else "")
    )
    header = f"{'':38}{'':6}" + "".join(f"{t.name[:18]:>20}" for t in targets)
    print(header + ("       ratio" if len(targets) > 1 else ""))
    for key, label, unit, fmt in ROWS:
        cells = "".join(f"{fmt.format(m[key]):>20}" for m in med)
        ratio = f"{med[0][key] / med[1][key]:11.2f}x" if len(targets) > 1 and med[1][key] else ""
        print(f"{label:38}{unit:6}{cells}{ratio}")
    print(
        f"floor (the four requests, no work): CPU per buyer {bare['cpu']:.2f} ms concurrent, "
        f"{bare['bcpu']:.2f} ms in the burst; burst p99 {bare['p99']:.1f} ms, concurrent "
        f"checkout p99 {bare['c99']:.1f} ms"
    )
    above = [(m["cpu"] - bare["cpu"], m["bcpu"] - bare["bcpu"]) for m in med]
    cells = "; ".join(
        f"{t.name}: {cpu:.2f} ms concurrent, {bcpu:.2f} ms burst"
        for t, (cpu, bcpu) in zip(targets, above, strict=True)
    )
    print(f"store CPU per buyer above the floor: {cells}")
    if len(above) > 1 and above[1][0] > 0 and above[1][1] > 0:
        print(
            f"  ratio above the floor: {above[0][0] / above[1][0]:.2f}x concurrent, "
            f"{above[0][1] / above[1][1]:.2f}x burst"
        )
    served = ", ".join(f"{1000 / m['cpu']:.0f}" for m in med)
    print(f"one core serves about {served} buyers/s (1000 / CPU per buyer)")
    new = med[0]
    verdict = {True: "met", False: "NOT met"}
    print(f"goal burst p99 < {BURST_GOAL_MS} ms: {verdict[new['p99'] < BURST_GOAL_MS]}")
    print(f"goal webhooks >= {HOOKS_GOAL}/s: {verdict[new['hooks'] >= HOOKS_GOAL]}")
    if len(med) > 1:
        ratio = new["cpu"] / med[1]["cpu"]
        burst = new["bcpu"] / med[1]["bcpu"]
        print(
            f"goal store CPU per buyer halved: {verdict[ratio <= 0.5]} ({ratio:.2f}x; "
            f"over the burst, every visit complete: {burst:.2f}x)"
        )


BURST_GOAL_MS = 200
HOOKS_GOAL = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="concurrent phase length")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--baseline",
        default=BASELINE_REF,
        help=f"git ref run side by side, rounds alternated (default {BASELINE_REF[:10]}, "
        "main before the checkout-cost work); 'none': this tree only",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server (postgresql+asyncpg://…): each store gets a database of "
        "its own there, dropped afterwards; default: a fresh SQLite file each",
    )
    parser.add_argument(
        "--tmp-dir",
        default=None,
        help="where the run's files go (SQLite databases, flush probe, baseline checkout); "
        "/dev/shm (no disk flushes) gives the figures without the disk",
    )
    parser.add_argument(
        "--profile", default=None, help="write a cProfile of this tree's store to this file"
    )
    parser.add_argument("--serve-floor", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor, args.port)
        return 0
    targets, floor = asyncio.run(main_async(args))
    report(args, targets, floor)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
