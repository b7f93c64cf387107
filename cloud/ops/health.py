"""`/healthz` (the process answers) and `/readyz` (it can do its work: database reachable,
schema at this code's head, BTCPay reachable), for load balancers and orchestrators.

`/healthz` never touches the database, so a replica whose database is down is kept alive
(and not restarted in a loop) while `/readyz` takes it out of rotation and names why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from cloud import db
from cloud.ops.const import HEALTHZ_PATH, READY_CHECK_TIMEOUT_SECONDS, READYZ_PATH, REASON_MAX_CHARS
from cloud.payments.greenfield import BtcpayError
from cloud.payments.keys import GREENFIELD
from cloud.web.keys import ENGINE
from cloud.web.middleware import answers_no_page

_LOGGER = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
_CHECKS_IN_FLIGHT = web.AppKey("ready_checks_in_flight", dict[str, "asyncio.Task[None]"])


class NotReady(Exception):
    """A readiness check failed; the message says why, for the operator."""


def describe_error(err: BaseException) -> str:
    """A one-line reason naming the error type (driver messages can be empty or long)."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    reason = f"{type(err).__name__}: {message}" if message else type(err).__name__
    return reason[:REASON_MAX_CHARS]


async def async_check_database(engine: AsyncEngine) -> None:
    """The database answers a query."""
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as err:  # any driver error means "not reachable"
        raise NotReady(f"cannot reach the database ({describe_error(err)})") from err


async def async_check_migrations(engine: AsyncEngine) -> None:
    """The schema is exactly at the head this code expects."""
    try:
        current = await db.async_current_revisions(engine)
    except Exception as err:
        raise NotReady(f"cannot read the schema version ({describe_error(err)})") from err
    heads = db.head_revisions()
    if current != heads:
        raise NotReady(
            f"database schema is at {sorted(current) or 'nothing'}, this code expects "
            f"{sorted(heads)}: run `ethos cloud migrate`"
        )


async def async_run_checks(
    checks: dict[str, Check], in_flight: dict[str, asyncio.Task[None]] | None = None
) -> dict[str, str]:
    """Run every check at once, each bounded in time; returns name → reason for failures.

    A check that overruns is reported but never cancelled: cancelling a query midway can
    hand its pooled connection back in a state the driver then refuses ("another operation
    is in progress") to the next request that takes it. It runs on in IN_FLIGHT, and the
    next probe waits for that same run rather than piling up another.
    """
    running = {} if in_flight is None else in_flight

    async def one(name: str, check: Check) -> str | None:
        task = running.get(name)
        if task is None:
            task = running[name] = asyncio.ensure_future(check())
        done, _ = await asyncio.wait({task}, timeout=READY_CHECK_TIMEOUT_SECONDS)
        if not done:
            return f"no answer within {READY_CHECK_TIMEOUT_SECONDS:g} s"
        if running.get(name) is task:
            del running[name]
        try:
            task.result()
        except NotReady as err:
            return str(err)
        return None

    results = await asyncio.gather(*(one(name, check) for name, check in checks.items()))
    return {name: reason for name, reason in zip(checks, results, strict=True) if reason}


def readiness_response(failing: dict[str, str], checked: list[str]) -> web.Response:
    if failing:
        _LOGGER.warning("not ready: %s", "; ".join(f"{k}: {v}" for k, v in failing.items()))
        return web.json_response(
            {"status": "not ready", "failing": failing, "checked": checked}, status=503
        )
    return web.json_response({"status": "ready", "failing": {}, "checked": checked})


@answers_no_page
async def healthz(_request: web.Request) -> web.Response:
    """Alive: the event loop answers. Touches nothing else."""
    return web.json_response({"status": "alive"})


@answers_no_page
async def readyz(request: web.Request) -> web.Response:
    app = request.app
    engine = app[ENGINE]
    greenfield = app[GREENFIELD]

    async def btcpay() -> None:
        try:
            await greenfield.health()
        except BtcpayError as err:
            raise NotReady(f"BTCPay Server not usable ({err.message})") from err

    checks: dict[str, Check] = {
        "database": lambda: async_check_database(engine),
        "migrations": lambda: async_check_migrations(engine),
        "btcpay": btcpay,
    }
    failing = await async_run_checks(checks, app[_CHECKS_IN_FLIGHT])
    if "database" in failing:  # the schema cannot be read either: say it once
        failing.pop("migrations", None)
    return readiness_response(failing, list(checks))


def setup(app: web.Application) -> None:
    app[_CHECKS_IN_FLIGHT] = {}
    app.router.add_get(HEALTHZ_PATH, healthz)
    app.router.add_get(READYZ_PATH, readyz)
