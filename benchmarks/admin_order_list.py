"""The console's order list with 100,000 orders on PostgreSQL: p99 of filtered pages.

A fresh schema is migrated, then filled (COPY) with --orders orders over a year (statuses
weighted like a real shop, 1–3 lines over the catalog's SKUs, a serial per unit of the
settled ones, ~20,000 buyers). The store runs as its own process; this script is an
operator's browser (a session that passed the second factor) asking for list pages one
after another: the newest page, each filter, each search, their combination, and a page
twenty pages deep (keyset cursor). Every scenario is checked to list orders.

Baseline in the same run: the same requests with the console's indexes dropped (migration
0010_admin_order_indexes), so the figures show what the indexes buy. Rounds alternate
baseline and indexed; medians of the per-round p50/p99 are reported, with the ratio.
Usage: python benchmarks/admin_order_list.py [--orders 100000] [--requests 200] [--rounds 2]
       [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import text  # noqa: E402

from cloud import db  # noqa: E402
from tests.support.processes import free_port, stop, wait_for_port  # noqa: E402

GOAL_MS = 50.0
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SKUS = {
    "EPD-1": Decimal("49.00"),
    "MMW-LITE": Decimal("29.00"),
    "TH-BTHOME": Decimal("19.00"),
    "PLUG-OPEN": Decimal("24.00"),
    "PLUG-ZB": Decimal("22.00"),
    "BULB-RGBW": Decimal("18.00"),
    "BULB-ZB-W": Decimal("12.00"),
    "ZB-STICK": Decimal("35.00"),
    "VOICE-LOCAL": Decimal("89.00"),
    "HUB-PI": Decimal("149.00"),
}
# (status, weight): most orders are paid; a shop also has many never paid.
STATUSES = (
    ("paid", 55),
    ("expired", 20),
    ("awaiting_payment", 5),
    ("part_paid", 2),
    ("confirming", 2),
    ("expired_part_paid", 3),
    ("invalid", 1),
    ("paid_late", 2),
    ("backorder", 1),
    ("refunded", 3),
    ("cancelled", 6),
)
INDEXES = {
    "ix_orders_created_at_id": "orders (created_at, id)",
    "ix_orders_status_created_at_id": "orders (status, created_at, id)",
    "ix_order_lines_sku_order_id": "order_lines (sku, order_id)",
}
ROW_RE = re.compile(r'<tr class="order-row"')
NEXT_RE = re.compile(r'<a class="next-page" href="([^"]+)"')


def _orders(count: int, now: datetime) -> tuple[list[tuple], list[tuple], list[tuple], str, str]:
    rng = random.Random(18)
    statuses = [s for s, _ in STATUSES]
    weights = [w for _, w in STATUSES]
    skus = list(SKUS)
    orders, lines, units = [], [], []
    serial = 0
    email_example = serial_example = ""
    for n in range(count):
        order_id = secrets.token_urlsafe(16)[:22]
        created = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
        status = rng.choices(statuses, weights)[0]
        email = f"buyer{rng.randrange(20000)}@example.org"
        chosen = rng.sample(skus, rng.choice((1, 1, 1, 2, 3)))
        total = Decimal("0")
        for sku in chosen:
            quantity = rng.choice((1, 1, 2))
            total += SKUS[sku] * quantity
            lines.append((order_id, sku, sku.title(), SKUS[sku], quantity))
            if status in ("paid", "backorder", "refunded"):
                for _ in range(quantity):
                    serial += 1
                    units.append((f"BEN-{serial:07d}", sku, "v1:bench", order_id, created, created))
        orders.append((order_id, email, status, total, "EUR", created, created))
        if n == count // 2:
            email_example = email
            serial_example = f"BEN-{max(serial, 1):07d}"
    return orders, lines, units, email_example, serial_example


async def _prepare(url: str, schema: str, count: int, secret_key: str) -> tuple[str, str, str]:
    """Migrate the schema, fill it, make an operator session; returns its cookie and the
    example email and serial searched for."""
    admin = db.create_engine(url)
    async with admin.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    engine = db.create_engine(url, schema)
    await db.async_upgrade_to_head(engine)
    now = datetime.now(UTC)
    orders, lines, units, email, serial = _orders(count, now)
    started = time.perf_counter()
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        cols = ["id", "email", "status", "total", "currency", "created_at", "updated_at"]
        await raw.copy_records_to_table("orders", records=orders, columns=cols, schema_name=schema)
        cols = ["order_id", "sku", "name", "unit_price", "quantity"]
        await raw.copy_records_to_table(
            "order_lines", records=lines, columns=cols, schema_name=schema
        )
        cols = ["serial", "sku", "sealed_claim_secret", "order_id", "sold_at", "created_at"]
        await raw.copy_records_to_table(
            "stock_units", records=units, columns=cols, schema_name=schema
        )
        await conn.commit()
    print(
        f"filled {len(orders)} orders, {len(lines)} lines, {len(units)} units "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    cookie = await _operator_session(engine, secret_key)
    await engine.dispose()
    return cookie, email, serial


async def _operator_session(engine, secret_key: str) -> str:
    from cloud.accounts.models import User
    from cloud.accounts.sessions import create_session
    from cloud.admin import operators
    from cloud.admin.models import OperatorTotp

    async with db.session_factory(engine)() as session, session.begin():
        user = User(email="operator@example.org", password_hash="-", confirmed=True)  # noqa: S106
        user.is_operator = True
        session.add(user)
        await session.flush()
        assert user.id is not None
        # A session that passed the second factor (the secret itself is never read here).
        enrolled = OperatorTotp(user_id=user.id, sealed_secret="-", confirmed_at=db.utcnow())  # noqa: S106
        session.add(enrolled)
        raw = await create_session(session, user.id, timedelta(days=1))
        await session.flush()
        await operators.mark_session_verified(session, raw, user.id)
    return raw


async def _set_indexes(url: str, schema: str, present: bool) -> None:
    engine = db.create_engine(url, schema)
    async with engine.begin() as conn:
        for name, target in INDEXES.items():
            if present:
                await conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {target}"))
            else:
                await conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def _explain_times(
    url: str, schema: str, scenarios: dict[str, str], runs: int
) -> dict[str, tuple[float, float]]:
    """PostgreSQL's own execution time of each page's SELECT (EXPLAIN ANALYZE), which the
    machine's other load disturbs far less than a whole HTTP round trip."""
    import json
    from urllib.parse import parse_qs, urlsplit

    from cloud.admin.orders import Cursor, page_query, parse_filter

    engine = db.create_engine(url, schema)
    figures = {}
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        for name, path in scenarios.items():
            params = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
            where = parse_filter(params, set(SKUS))
            after = Cursor.decode(params["after"]) if "after" in params else None
            compiled = page_query(where, after, 51).compile(dialect=engine.dialect)
            values = [compiled.params[key] for key in compiled.positiontup or ()]
            times = []
            for _ in range(runs):
                plan = await raw.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", *values)
                plan = json.loads(plan) if isinstance(plan, str) else plan
                times.append(float(plan[0]["Execution Time"]))
            times.sort()
            figures[name] = (statistics.median(times), times[max(int(len(times) * 0.99) - 1, 0)])
    await engine.dispose()
    return figures


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _wait_for_console(http: aiohttp.ClientSession, base: str) -> None:
    """The store answers probes while it waits for its database, then starts the app."""
    deadline = time.monotonic() + 60
    while True:
        try:
            async with http.get(base + "/admin/orders", allow_redirects=False) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("the console did not answer")
        await asyncio.sleep(0.2)


async def _deep_page(http: aiohttp.ClientSession, base: str, depth: int) -> str:
    path = "/admin/orders"
    for _ in range(depth):
        async with http.get(base + path) as response:
            match = NEXT_RE.search(await response.text())
        assert match, "the list has fewer pages than asked for"
        path = match.group(1).replace("&amp;", "&")
    return path


async def _measure(
    http: aiohttp.ClientSession, base: str, scenarios: dict[str, str], requests: int, pid: int
) -> dict[str, tuple[float, float, float]]:
    """Per scenario: page latency p50 and p99, and the store's CPU ms per page."""
    figures = {}
    for name, path in scenarios.items():
        for _ in range(10):  # warm-up
            async with http.get(base + path) as response:
                body = await response.text()
        assert response.status == 200 and ROW_RE.search(body), f"{name}: no orders listed"
        times = []
        cpu_before = _cpu_seconds(pid)
        for _ in range(requests):
            started = time.perf_counter()
            async with http.get(base + path) as response:
                await response.read()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status == 200
        cpu_ms = (_cpu_seconds(pid) - cpu_before) * 1000 / requests
        times.sort()
        figures[name] = (statistics.median(times), times[int(len(times) * 0.99) - 1], cpu_ms)
    return figures


async def run(
    args: argparse.Namespace, base: str, cookie: str, email: str, serial: str, pid: int
) -> dict[str, dict[str, dict[str, list[tuple[float, ...]]]]]:
    today = datetime.now(UTC).date()
    month_ago = (today - timedelta(days=30)).isoformat()
    scenarios = {
        "newest page": "/admin/orders",
        "status=paid": "/admin/orders?status=paid",
        "status=awaiting_payment": "/admin/orders?status=awaiting_payment",
        "status=expired, last 30 days": f"/admin/orders?status=expired&from={month_ago}",
        "product=HUB-PI": "/admin/orders?product=HUB-PI",
        "product=VOICE-LOCAL, status=paid": "/admin/orders?product=VOICE-LOCAL&status=paid",
        "search email": f"/admin/orders?q={email}",
        "search serial": f"/admin/orders?q={serial}",
    }
    results: dict[str, dict[str, dict[str, list[tuple[float, ...]]]]] = {
        "http": {"baseline": {}, "indexed": {}},
        "sql": {"baseline": {}, "indexed": {}},
    }
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        jar.update_cookies({"ethos_session": cookie})
        await _wait_for_console(http, base)
        for round_no in range(args.rounds):
            for phase in ("baseline", "indexed"):
                await _set_indexes(args.database_url, args.schema, present=phase == "indexed")
                wanted = dict(scenarios)
                wanted["page 20 deep (keyset)"] = await _deep_page(http, base, 20)
                figures = await _measure(http, base, wanted, args.requests, pid)
                for name, triple in figures.items():
                    results["http"][phase].setdefault(name, []).append(triple)
                sql = await _explain_times(args.database_url, args.schema, wanted, args.requests)
                for name, pair in sql.items():
                    results["sql"][phase].setdefault(name, []).append(pair)
                print(f"round {round_no + 1} {phase} done", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="per scenario and phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    args.schema = f"bench_admin_{uuid.uuid4().hex[:8]}"
    secret_key = secrets.token_hex(32)
    with tempfile.TemporaryDirectory() as tmp:
        cookie, email, serial = asyncio.run(
            _prepare(args.database_url, args.schema, args.orders, secret_key)
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "ETHOS_DATA_DIR": tmp,
            "DATABASE_URL": args.database_url,
            "ETHOS_DB_SCHEMA": args.schema,
            "ETHOS_BASE_URL": base,
            "ETHOS_SECRET_KEY": secret_key,
            "BTCPAY_URL": "http://127.0.0.1:9",
            "BTCPAY_WEBHOOK_SECRET": "bench-not-used",
            "ETHOS_RECONCILE_SECONDS": "3600",
            "LOG_LEVEL": "WARNING",
        }
        store = subprocess.Popen(
            [sys.executable, "-m", "ethos.cli", "cloud", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_for_port("127.0.0.1", port, store)
            results = asyncio.run(run(args, base, cookie, email, serial, store.pid))
        finally:
            stop(store)
            asyncio.run(_drop_schema(args.database_url, args.schema))
    _report(args, results)


async def _drop_schema(url: str, schema: str) -> None:
    engine = db.create_engine(url)
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def _median(rows: list[tuple[float, ...]], index: int) -> float:
    return statistics.median(row[index] for row in rows)


def _header(last: str) -> str:
    columns = f"{'no index p50':>12} {'p99':>8} {'indexed p50':>12} {'p99':>8}"
    return f"  {'scenario':36} {columns} {last:>10}"


def _report(args: argparse.Namespace, results: dict) -> None:
    load = os.getloadavg()[0]
    print(
        f"\nconsole order list, {args.orders} orders on PostgreSQL, {args.requests} requests "
        f"per scenario and phase, medians of {args.rounds} rounds; load average {load:.1f} "
        f"on {os.cpu_count()} cores"
    )
    print("PostgreSQL execution time of the page's SELECT (EXPLAIN ANALYZE), ms:")
    print(_header("ratio p99"))
    sql = results["sql"]
    worst_sql = 0.0
    for name in sql["indexed"]:
        b50, b99 = _median(sql["baseline"][name], 0), _median(sql["baseline"][name], 1)
        i50, i99 = _median(sql["indexed"][name], 0), _median(sql["indexed"][name], 1)
        worst_sql = max(worst_sql, i99)
        print(f"  {name:36} {b50:12.2f} {b99:8.2f} {i50:12.2f} {i99:8.2f} {b99 / i99:9.1f}x")
    print("whole HTTP page (session, authorizer, second factor, query, template), ms:")
    print(_header("store CPU"))
    http = results["http"]
    worst_http = 0.0
    for name in http["indexed"]:
        b50, b99 = _median(http["baseline"][name], 0), _median(http["baseline"][name], 1)
        i50, i99 = _median(http["indexed"][name], 0), _median(http["indexed"][name], 1)
        cpu = _median(http["indexed"][name], 2)
        worst_http = max(worst_http, i99)
        print(f"  {name:36} {b50:12.1f} {b99:8.1f} {i50:12.1f} {i99:8.1f} {cpu:9.1f}")
    for label, worst in (("SELECT", worst_sql), ("HTTP page", worst_http)):
        verdict = "meets" if worst < GOAL_MS else "MISSES"
        print(f"worst indexed {label} p99 {worst:.1f} ms: {verdict} the goal of < {GOAL_MS:.0f} ms")


if __name__ == "__main__":
    main()
