"""The storm: buyers checking out through HAProxy on three replicas while things break.

The stack (packaging/cloud/stack.py: its own PostgreSQL, the migration job, N replicas,
HAProxy with TLS, the BTCPay simulator) comes up; the simulator's webhook deliveries go
round-robin to the replicas with duplicates, reordering, forgeries and drops. Then:

1. Storm: `--buyers` people at once sign up, confirm by the mailed link (which signs them
   in), put a presence detector in the cart and check out; most then pay their invoice at
   the simulator (pay and confirm). When a third of them have checked out, the replica that
   runs the once-only jobs (the mail among them, as its /metrics says) is killed with
   SIGKILL (and started again); at two thirds PostgreSQL is restarted (fast mode: every
   connection cut).
2. Checks: no unit allocated twice or to an order it is not held for; every invoice the
   simulator has settled has its order paid and its units owned within one reconcile
   interval after the last recovery (the reconciler re-reads invoices whose webhook was
   dropped); every buyer got their confirmation link, the killed replica's claimed mail
   included; every forged webhook refused (the simulator's count of forgeries and their
   answers, against the replicas' logged refusals); no 5xx outside the restart windows.
3. Rolling restart under load: guests keep checking out while each replica in turn is
   drained in HAProxy, stopped with SIGTERM, started and waited for; no request may fail.

Figures: checkouts/s and webhooks/s in the storm, recovery times after the kill and after
the PostgreSQL restart, errors by kind (inside and outside the windows).
Usage: python benchmarks/storm.py [--buyers 200] [--replicas 3] [--reconcile-seconds 5]
       [--rolling-buyers 20] [--dir DIR] [--keep]
Exit status 0 when every check passed, 1 otherwise (the report says which).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import math
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp

from cloud.ops.const import JOB_MAIL

ROOT = Path(__file__).resolve().parents[1]
SKU = "EPD-1"
PASSWORD = "storm horse battery staple"  # noqa: S105 (throw-away accounts)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LINK_RE = re.compile(r"https?://\S+/account/confirm\?token=[^\s\"<>]+")
CHAOS = {"duplicate": 0.2, "reorder": 0.2, "forge": 0.15, "drop": 0.1, "reorder_delay": 1.0}
SHIPPING_ADDRESS = {
    "ship_name": "Storm Buyer",
    "ship_line1": "1 Rue de la Paix",
    "ship_postcode": "75002",
    "ship_city": "Paris",
    "ship_country": "FR",
}
UNPAID_SHARE = 0.1  # buyers who check out but never pay
STEP_ATTEMPTS = 40  # a person retries a failed page, half a second apart
RETRY_PAUSE_S = 0.5
WINDOW_GRACE_S = 2.0  # a restart window ends this long after the service answers again
PROBE_INTERVAL_S = 0.1
QUIET_TIMEOUT_S = 30.0  # how long the forgery counts may take to stop moving
MAIL_SETTLED_S = 5.0  # an outbox file this old is complete
RECOVERY_LIMIT_S = 10.0  # errors this long after a fault's end are no longer its doing
LATE_LIMIT_S = 120.0  # late orders are watched this long more, to tell late from lost
SETTLE_SLACK_S = 5.0  # beyond one reconcile interval: a pass's own duration, HTTP, polling
REFUSAL_LOG = "webhook refused"


def load_stack_module() -> ModuleType:
    """packaging/cloud/stack.py by path (`packaging` is also a PyPI package's name)."""
    spec = importlib.util.spec_from_file_location(
        "ethos_stack", ROOT / "packaging" / "cloud" / "stack.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ethos_stack"] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Request:
    at: float
    kind: str
    outcome: str  # "ok", an HTTP status, or an exception's name
    status: int  # 0 when nothing answered


@dataclass
class Recorder:
    """Every request the buyers made, and the windows in which a restart was under way."""

    started: float = field(default_factory=time.monotonic)
    requests: list[Request] = field(default_factory=list)
    windows: list[tuple[str, float, float]] = field(default_factory=list)

    def add(self, kind: str, outcome: str, status: int) -> None:
        self.requests.append(Request(time.monotonic(), kind, outcome, status))

    def in_window(self, at: float) -> bool:
        return any(start <= at <= end for _name, start, end in self.windows)

    def failures(self) -> list[Request]:
        return [r for r in self.requests if r.outcome != "ok"]

    def errors_by_kind(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for r in self.failures():
            where = "in window" if self.in_window(r.at) else "OUTSIDE windows"
            counts[f"{r.kind} {r.outcome} ({where})"] += 1
        return dict(sorted(counts.items()))

    def five_xx_outside(self) -> list[Request]:
        return [
            r
            for r in self.failures()
            if (r.status >= 500 or r.status == 0) and not self.in_window(r.at)
        ]


class StepFailed(Exception):
    """A page kept failing after every retry."""


class MailIndex:
    """The shared outbox (every replica writes there): the newest confirmation link by
    address, listed by one poller instead of by every buyer."""

    def __init__(self, outbox: Path) -> None:
        self.outbox = outbox
        self.links: dict[str, str] = {}
        self._seen: set[str] = set()
        self._waiters: dict[str, asyncio.Event] = {}

    def _scan(self) -> dict[str, str]:
        found = {}
        if not self.outbox.exists():
            return found
        for path in sorted(self.outbox.glob("*.eml")):
            if path.name in self._seen:
                continue
            message = message_from_bytes(path.read_bytes(), policy=policy.default)
            body = message.get_body(("plain",))
            match = LINK_RE.search(body.get_content() if body else "")
            if match:
                found[str(message["To"]).strip().lower()] = match.group(0)
            # A file still being written is read again; a mail without a link is done.
            if match or time.time() - path.stat().st_mtime > MAIL_SETTLED_S:
                self._seen.add(path.name)
        return found

    async def run(self) -> None:
        while True:
            for address, link in (await asyncio.to_thread(self._scan)).items():
                self.links[address] = link
                if address in self._waiters:
                    self._waiters[address].set()
            await asyncio.sleep(0.1)

    async def link_for(self, address: str, timeout: float = 120.0) -> str:
        event = self._waiters.setdefault(address, asyncio.Event())
        if address not in self.links:
            await asyncio.wait_for(event.wait(), timeout)
        return self.links[address]


@dataclass
class Client:
    """One person's browser: cookies, TLS to HAProxy trusting the stack's certificate."""

    base: str
    session: aiohttp.ClientSession
    recorder: Recorder

    async def call(
        self, kind: str, method: str, path: str, expect: tuple[int, ...], **kwargs: Any
    ) -> tuple[int, str, dict[str, str]]:
        """One attempt; recorded. Returns (status, body, headers); status 0: no answer."""
        url = path if path.startswith("http") else self.base + path
        try:
            async with self.session.request(
                method, url, allow_redirects=False, **kwargs
            ) as response:
                text = await response.text()
                ok = response.status in expect
                self.recorder.add(kind, "ok" if ok else f"HTTP {response.status}", response.status)
                return response.status, text, dict(response.headers)
        except (aiohttp.ClientError, TimeoutError) as err:
            self.recorder.add(kind, type(err).__name__, 0)
            return 0, "", {}

    async def step(
        self, kind: str, method: str, path: str, expect: tuple[int, ...], **kwargs: Any
    ) -> tuple[int, str, dict[str, str]]:
        """Retry like a person does when a page fails (5xx or no answer)."""
        for _ in range(STEP_ATTEMPTS):
            status, text, headers = await self.call(kind, method, path, expect, **kwargs)
            if status in expect:
                return status, text, headers
            if status and status < 500:
                raise StepFailed(f"{kind}: HTTP {status}: {text[:200]}")
            await asyncio.sleep(RETRY_PAUSE_S)
        raise StepFailed(f"{kind}: no success after {STEP_ATTEMPTS} attempts")

    async def csrf(self, kind: str, path: str) -> str:
        _status, text, _headers = await self.step(kind, "GET", path, (200,))
        match = CSRF_RE.search(text)
        if match is None:
            raise StepFailed(f"{kind}: no form on {path}")
        return match.group(1)

    async def buy(self, email: str | None) -> str:
        """Cart and checkout; the new order's id."""
        token = await self.csrf("product page", f"/products/{SKU}")
        form = {"sku": SKU, "quantity": "1", "csrf_token": token}
        await self.step("add to cart", "POST", "/cart/add", (303,), data=form)
        token = await self.csrf("checkout page", "/checkout")
        form = {"csrf_token": token, **SHIPPING_ADDRESS} | ({"email": email} if email else {})
        _status, _text, headers = await self.step(
            "checkout", "POST", "/checkout", (303,), data=form
        )
        return headers["Location"].rsplit("/", 1)[-1]


def mail_holder(jobs_by_replica: list[list[str]]) -> int:
    """The index of the replica holding the mail job (the second one if none says so)."""
    holders = [index for index, held in enumerate(jobs_by_replica) if JOB_MAIL in held]
    return holders[0] if holders else 1


@dataclass
class Storm:
    args: argparse.Namespace
    stack: Any
    recorder: Recorder = field(default_factory=Recorder)
    mail: MailIndex | None = None
    orders: list[str] = field(default_factory=list)
    paid_invoices: dict[str, float] = field(default_factory=dict)  # invoice -> paid at
    buyer_failures: list[str] = field(default_factory=list)
    checkout_times: list[float] = field(default_factory=list)
    events: dict[str, float] = field(default_factory=dict)
    killed: dict[str, Any] = field(default_factory=dict)
    rng: random.Random = field(default_factory=lambda: random.Random(17))

    def session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(ssl=self.stack.ssl_context(), limit=4)
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    # -- the storm ------------------------------------------------------------------------

    async def buyer(self, n: int, sim: aiohttp.ClientSession) -> None:
        email = f"storm-{n}-{secrets.token_hex(3)}@example.org"
        assert self.mail is not None
        # Arrivals spread over the ramp, so the faults hit a store under load.
        await asyncio.sleep(self.args.ramp_seconds * n / max(self.args.buyers, 1))
        async with self.session() as session:
            client = Client(self.stack.base_url, session, self.recorder)
            try:
                account = {"email": email, "password": PASSWORD}
                await client.step("sign-up", "POST", "/api/v1/account/signup", (202,), json=account)
                link = await self.mail.link_for(email)
                path = link.split("://", 1)[1].split("/", 1)[1]
                token = await client.csrf("confirm page", "/" + path)
                form = {
                    "token": parse_qs(urlsplit(link).query)["token"][0],
                    "password": PASSWORD,
                    "csrf_token": token,
                }
                try:
                    await client.step("confirm", "POST", "/account/confirm", (303,), data=form)
                except StepFailed:
                    # A confirmation whose answer was lost (a 5xx in a restart window) may
                    # have gone through: its link is then used up, and the person signs in.
                    await client.step(
                        "sign-in", "POST", "/api/v1/account/login", (200,), json=account
                    )
                order_id = await client.buy(None)
                self.orders.append(order_id)
                self.checkout_times.append(time.monotonic())
                if self.rng.random() >= UNPAID_SHARE:
                    await self.pay(sim, order_id)
            except (StepFailed, TimeoutError) as err:
                self.buyer_failures.append(f"{email}: {err}")

    async def pay(self, sim: aiohttp.ClientSession, order_id: str) -> None:
        """Pay and confirm the order's invoice at the simulator (as the buyer's wallet)."""
        url = f"{self.stack.sim_url}/api/v1/stores/{self.args.store_id}/invoices"
        for _ in range(STEP_ATTEMPTS):
            async with sim.get(url, params={"orderId": order_id}) as response:
                invoices = await response.json()
            if invoices:
                break
            await asyncio.sleep(RETRY_PAUSE_S)  # the invoice is opened by a retry later
        else:
            raise StepFailed(f"order {order_id} never got an invoice")
        invoice_id = invoices[0]["id"]
        pay = f"{self.stack.sim_url}/i/{invoice_id}/test/pay-confirm"
        async with sim.post(pay, headers={"Accept": "application/json"}) as response:
            assert response.status == 200, await response.text()
        self.paid_invoices[invoice_id] = time.monotonic()

    async def probe(self, stop: asyncio.Event, failures: list[float]) -> None:
        """GET /readyz through HAProxy every 100 ms: when the service answered again."""
        async with self.session() as session:
            while not stop.is_set():
                try:
                    async with session.get(f"{self.stack.base_url}/readyz") as response:
                        if response.status != 200:
                            failures.append(time.monotonic())
                except (aiohttp.ClientError, TimeoutError):
                    failures.append(time.monotonic())
                await asyncio.sleep(PROBE_INTERVAL_S)

    async def faults(self, probe_failures: list[float]) -> None:
        """SIGKILL a replica a quarter into the arrivals (and start it again), then restart
        PostgreSQL at 60 % of them (or once the replica is back, if later). The replica
        killed is the one sending the mail, so its jobs must move while buyers wait for
        their confirmation links."""
        ramp, started = self.args.ramp_seconds, self.recorder.started
        await asyncio.sleep(max(0.0, started + ramp * 0.25 - time.monotonic()))
        jobs = await asyncio.to_thread(self.jobs_by_replica)
        victim = mail_holder(jobs)
        self.killed = {"replica": self.stack.nodes[victim].name, "its jobs": jobs[victim]}
        self.events["kill"] = time.monotonic()
        node = await asyncio.to_thread(self.stack.kill_replica, victim)
        # Until HAProxy's checks find it dead, requests in flight to it fail.
        await asyncio.to_thread(self.stack.wait_backend, node, "DOWN")
        self.events["HAProxy saw it down"] = time.monotonic()
        await asyncio.to_thread(self.stack.restart_killed, node)
        self.events["killed replica back"] = time.monotonic()
        await asyncio.sleep(max(0.0, started + ramp * 0.6 - time.monotonic()))
        self.events["pg restart"] = time.monotonic()
        await asyncio.to_thread(self.stack.restart_postgres)
        self.events["pg up"] = time.monotonic()
        # Wait until the probe has answered 200 for a second in a row.
        while True:
            if not probe_failures or time.monotonic() - probe_failures[-1] >= 1.0:
                break
            await asyncio.sleep(PROBE_INTERVAL_S)

    def jobs_by_replica(self) -> list[list[str]]:
        return [self.stack.held_leases(node) for node in self.stack.nodes]

    def close_windows(self, probe_failures: list[float]) -> None:
        """The restart windows, once every request is in: from the fault until the last
        request that failed after it (and the probe's last failure, and HAProxy taking the
        killed replica out, and PostgreSQL answering again), but never later than
        RECOVERY_LIMIT_S after that: a failure later than that is outside any window. A
        failure once PostgreSQL is restarting is that restart's, not the kill's."""
        failed = [r.at for r in self.recorder.failures()] + probe_failures
        if "HAProxy saw it down" in self.events:
            killed, down = self.events["kill"], self.events["HAProxy saw it down"]
            limit = min(down + RECOVERY_LIMIT_S, self.events.get("pg restart", math.inf))
            end = max([down, *(f for f in failed if killed <= f <= limit)])
            self.events["kill recovered"] = end
            self.recorder.windows.append(("kill", killed, end + WINDOW_GRACE_S))
        if "pg up" in self.events:
            restarted, up = self.events["pg restart"], self.events["pg up"]
            limit = up + RECOVERY_LIMIT_S
            end = max([up, *(f for f in failed if restarted <= f <= limit)])
            self.events["pg recovered"] = end
            self.recorder.windows.append(("pg restart", restarted, end + WINDOW_GRACE_S))

    async def run_storm(self) -> dict[str, Any]:
        self.mail = MailIndex(self.stack.folder / "data" / "outbox")
        mail_task = asyncio.create_task(self.mail.run())
        stop, probe_failures = asyncio.Event(), []
        probe_task = asyncio.create_task(self.probe(stop, probe_failures))
        headers = {"Authorization": f"token {self.args.api_key}"}
        async with aiohttp.ClientSession(headers=headers) as sim:
            started = time.monotonic()
            fault_task = asyncio.create_task(self.faults(probe_failures))
            await asyncio.gather(*(self.buyer(n, sim) for n in range(self.args.buyers)))
            await fault_task
        stop.set()
        await probe_task
        self.close_windows(probe_failures)
        mail_task.cancel()
        first = min(self.checkout_times, default=started)
        last = max(self.checkout_times, default=started)
        return {
            "checkouts": len(self.orders),
            "paid": len(self.paid_invoices),
            "checkouts_per_s": len(self.orders) / max(last - first, 1e-9),
            "seconds": time.monotonic() - started,
        }

    def kill_recovery(self) -> dict[str, float] | None:
        """Seconds from the SIGKILL to: HAProxy taking the replica out, the last request
        that failed because of it, the replica serving again."""
        if "killed replica back" not in self.events:
            return None
        killed, back = self.events["kill"], self.events["killed replica back"]
        return {
            "HAProxy took it out": round(self.events["HAProxy saw it down"] - killed, 2),
            "requests failing until": round(self.events["kill recovered"] - killed, 2),
            "replica back in rotation": round(back - killed, 2),
        }

    def webhook_rate(self, settled_at: float) -> tuple[int, float]:
        """Deliveries the replicas answered 2xx, per second from the start of the storm to
        the moment every settled invoice was paid (the simulator sends them one at a time,
        in order, per webhook, as BTCPay does)."""
        counts = self.stack.sim_api("GET", "/simulator/chaos")["counts"]
        hooks = sum(v for k, v in counts.items() if k.startswith("http_2"))
        return hooks, hooks / max(settled_at - self.recorder.started, 1e-9)

    # -- afterwards -----------------------------------------------------------------------

    def sql_rows(self, statement: str) -> list[list[str]]:
        out = self.stack.pg.sql(statement)
        return [line.split("|") for line in out.splitlines() if line]

    def double_allocations(self) -> list[str]:
        problems = []
        for unit, owners in self.sql_rows(
            "SELECT unit_id, count(*) FROM ownerships GROUP BY unit_id HAVING count(*) > 1"
        ):
            problems.append(f"unit {unit} owned {owners} times")
        for unit, owned_for, held_for in self.sql_rows(
            "SELECT o.unit_id, o.order_id, coalesce(u.order_id, '-') FROM ownerships o "
            "JOIN stock_units u ON u.id = o.unit_id "
            "WHERE u.order_id IS DISTINCT FROM o.order_id"
        ):
            problems.append(f"unit {unit} owned through {owned_for} but held for {held_for}")
        for order, owned, bought in self.sql_rows(
            "SELECT o.id, (SELECT count(*) FROM ownerships w WHERE w.order_id = o.id), "
            "(SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id) "
            "FROM orders o"
        ):
            if int(owned) > int(bought):
                problems.append(f"order {order} owns {owned} units but bought {bought}")
        return problems

    def unpaid_settled(self) -> list[str]:
        """Invoices the simulator has settled whose order is not paid with its units."""
        invoices = self.stack.sim_api("GET", f"/api/v1/stores/{self.args.store_id}/invoices")
        settled = {i["id"] for i in invoices if i["status"] == "Settled"}
        rows = self.sql_rows(
            "SELECT o.invoice_id, o.status, "
            "(SELECT count(*) FROM ownerships w WHERE w.order_id = o.id), "
            "(SELECT coalesce(sum(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id) "
            "FROM orders o WHERE o.invoice_id IS NOT NULL"
        )
        state = {
            invoice: (status, int(owned), int(bought)) for invoice, status, owned, bought in rows
        }
        missing = []
        for invoice in sorted(settled):
            status, owned, bought = state.get(invoice, ("no order", 0, 1))
            if status != "paid" or owned != bought:
                missing.append(f"{invoice}: order {status}, {owned}/{bought} units owned")
        return missing

    async def wait_settled(self) -> tuple[list[str], float, float | None]:
        """Every settled invoice's order paid, within one reconcile interval (plus slack)
        after the later of the last payment and the last recovery: (what was still unpaid
        at that deadline, seconds until all were paid or the deadline, and, when some were
        late, seconds until they were all paid after all (None: still not after
        LATE_LIMIT_S), telling late from lost)."""
        since = max([*self.paid_invoices.values(), self.events.get("pg recovered", 0.0)])
        deadline = since + self.args.reconcile_seconds + SETTLE_SLACK_S
        while True:
            missing = await asyncio.to_thread(self.unpaid_settled)
            if not missing or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        on_time = max(0.0, time.monotonic() - since)
        if not missing:
            return missing, on_time, None
        while time.monotonic() < deadline + LATE_LIMIT_S:
            await asyncio.sleep(1.0)
            if not await asyncio.to_thread(self.unpaid_settled):
                return missing, on_time, time.monotonic() - since
        return missing, on_time, None

    def forgeries(self) -> dict[str, int]:
        """The simulator's forgery counts beside the replicas' logged refusals, read once
        both have stopped moving (held-back and retried deliveries still land a while)."""
        previous: dict[str, int] = {}
        deadline = time.monotonic() + QUIET_TIMEOUT_S
        while True:
            counts = self.stack.sim_api("GET", "/simulator/chaos")["counts"]
            logged = sum(
                (self.stack.folder / f"{node.name}.log")
                .read_text(errors="replace")
                .count(REFUSAL_LOG)
                for node in self.stack.nodes
            )
            current = {
                "sent": counts.get("forge", 0),
                "refused": counts.get("forge_refused", 0),
                "accepted": counts.get("forge_accepted", 0),
                "unanswered": counts.get("forge_unanswered", 0),
                "refusals logged by replicas": logged,
            }
            if current == previous or time.monotonic() > deadline:
                return current
            previous = current
            time.sleep(1.0)

    # -- rolling restart ------------------------------------------------------------------

    async def rolling_restart(self) -> dict[str, Any]:
        """Guests keep buying while every replica in turn is drained, stopped, restarted."""
        recorder = Recorder()
        done = asyncio.Event()
        bought = 0

        async def guest() -> None:
            nonlocal bought
            async with self.session() as session:
                client = Client(self.stack.base_url, session, recorder)
                while not done.is_set():
                    try:
                        await client.buy(f"guest-{secrets.token_hex(4)}@example.org")
                        bought += 1
                    except StepFailed:
                        pass  # counted by the recorder
                    await asyncio.sleep(self.rng.uniform(0.3, 1.0))

        guests = [asyncio.create_task(guest()) for _ in range(self.args.rolling_buyers)]
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await asyncio.to_thread(self.stack.rolling_restart)
        seconds = time.monotonic() - started
        await asyncio.sleep(1.0)
        done.set()
        await asyncio.gather(*guests)
        return {
            "seconds": seconds,
            "requests": len(recorder.requests),
            "checkouts": bought,
            "failed": recorder.errors_by_kind(),
        }


def import_stock(stack: Any, units: int) -> None:
    csv = stack.folder / "stock.csv"
    csv.write_text(
        "serial,sku,claim_secret\n"
        + "".join(f"EPD-{n:06d},{SKU},{secrets.token_hex(32)}\n" for n in range(1, units + 1))
    )
    result = subprocess.run(
        [sys.executable, "-m", "ethos", "cloud", "stock", "import", str(csv)],
        cwd=ROOT,
        env={**__import__("os").environ, **stack.store_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"stock import failed: {result.stderr}")


async def run_storm(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Bring the stack up, run the storm, the checks and the rolling restart; the report."""
    stack_module = load_stack_module()
    stack = stack_module.Stack(
        folder, replicas=args.replicas, reconcile_seconds=args.reconcile_seconds
    )
    args.store_id, args.api_key = stack_module.SIM_STORE_ID, stack_module.SIM_API_KEY
    await asyncio.to_thread(stack.up)
    try:
        await asyncio.to_thread(import_stock, stack, args.buyers * 2 + args.rolling_buyers * 80)
        stack.configure_deliveries(**CHAOS, seed=args.seed)
        storm = Storm(args, stack)
        figures = await storm.run_storm()
        missing, settle_seconds, late_seconds = await storm.wait_settled()
        figures["webhooks_2xx"], figures["webhooks_per_s"] = storm.webhook_rate(time.monotonic())
        report = {
            "storm": figures,
            "events (s after start)": {
                k: round(v - storm.recorder.started, 2) for k, v in storm.events.items()
            },
            "killed": storm.killed,
            "recovery after kill (s)": storm.kill_recovery(),
            "recovery after PostgreSQL restart (s)": round(
                storm.events["pg recovered"] - storm.events["pg restart"], 2
            )
            if "pg recovered" in storm.events
            else None,
            "errors by kind": storm.recorder.errors_by_kind(),
            "buyers who gave up": storm.buyer_failures,
            "double allocations": storm.double_allocations(),
            "settled but not paid": missing,
            "settled -> paid after last payment/recovery (s)": round(settle_seconds, 2),
            "late ones all paid after (s)": None
            if late_seconds is None
            else round(late_seconds, 2),
            "forgeries": await asyncio.to_thread(storm.forgeries),
            "5xx outside restart windows": [
                f"{r.kind} {r.outcome} at {r.at - storm.recorder.started:.2f}s"
                for r in storm.recorder.five_xx_outside()
            ],
            "webhook deliveries (simulator)": stack.sim_api("GET", "/simulator/chaos")["counts"],
        }
        report["rolling restart"] = await storm.rolling_restart()
        report["verdict"] = verdict(report)
        return report
    finally:
        await asyncio.to_thread(stack.down)


def verdict(report: dict[str, Any]) -> list[str]:
    """What failed; empty when the storm passed."""
    failed = []
    if report["double allocations"]:
        failed.append("double allocations")
    if report["settled but not paid"]:
        failed.append("lost paid orders")
    forged = report["forgeries"]
    answered = forged["refused"] + forged["accepted"] + forged["unanswered"]
    # A replica may log its refusal and die (SIGKILL) before its 401 leaves: the simulator
    # then counts that forgery unanswered. No refusal may be logged beyond the forgeries.
    logged = forged["refusals logged by replicas"]
    if (
        forged["accepted"]
        or not forged["refused"] <= logged <= forged["refused"] + forged["unanswered"]
        or answered != forged["sent"]
    ):
        failed.append("forgeries not all refused")
    if forged["sent"] == 0:
        failed.append("no forgery was sent")
    if report["5xx outside restart windows"]:
        failed.append("5xx outside the restart windows")
    if report["buyers who gave up"]:
        failed.append("buyers gave up")
    if report["rolling restart"]["failed"]:
        failed.append("requests failed during the rolling restart")
    if (
        report["recovery after kill (s)"] is None
        or report["recovery after PostgreSQL restart (s)"] is None
    ):
        failed.append("a fault did not happen")
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--reconcile-seconds", type=int, default=5)
    parser.add_argument("--rolling-buyers", type=int, default=20)
    parser.add_argument(
        "--ramp-seconds", type=float, default=30.0, help="buyers arrive over this long"
    )
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--dir", type=Path, default=None, help="logs (default: a temp dir)")
    args = parser.parse_args(argv)
    if args.dir is None:
        folder = Path(tempfile.mkdtemp(prefix="ethos-storm-"))
    else:
        folder = args.dir.resolve()
        folder.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(run_storm(args, folder))
    print(json.dumps(report, indent=2))
    storm = report["storm"]
    print(
        f"\n{args.buyers} buyers, {args.replicas} replicas: "
        f"{storm['checkouts_per_s']:.1f} checkouts/s, {storm['webhooks_per_s']:.1f} webhooks/s; "
        f"recovery after kill {report['recovery after kill (s)']}, after PostgreSQL restart "
        f"{report['recovery after PostgreSQL restart (s)']} s; logs in {folder}"
    )
    print("PASSED" if not report["verdict"] else f"FAILED: {', '.join(report['verdict'])}")
    return 0 if not report["verdict"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
