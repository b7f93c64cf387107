"""Start-up of a store replica: answer probes while the database cannot be reached, refuse
to serve (and say why) when production finds the schema behind the code.

While the database is down a replica listens with `/healthz` 200 (alive: an orchestrator
does not restart it in a loop), `/readyz` 503 naming the reason, and 503 on every page;
once the database answers, this waiting server closes and the store starts on the port.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiohttp import web

from cloud import db
from cloud.config import CloudSettings, ConfigError
from cloud.ops.const import DATABASE_WAIT_RETRY_SECONDS, HEALTHZ_PATH, READYZ_PATH
from cloud.ops.health import (
    NotReady,
    async_check_database,
    async_check_migrations,
    describe_error,
    healthz,
    readiness_response,
)

_LOGGER = logging.getLogger(__name__)

READY_CHECKS = ["database", "migrations", "btcpay"]


@dataclass
class _Waiting:
    reason: str = "starting"


def _waiting_app(state: _Waiting) -> web.Application:
    app = web.Application()

    async def readyz(_request: web.Request) -> web.Response:
        return readiness_response({"database": state.reason}, READY_CHECKS)

    async def starting(_request: web.Request) -> web.Response:
        return web.Response(
            status=503,
            text="The store is starting and cannot serve yet; please try again shortly.",
            headers={"Retry-After": "5"},
        )

    app.router.add_get(HEALTHZ_PATH, healthz)
    app.router.add_get(READYZ_PATH, readyz)
    app.router.add_route("*", "/{tail:.*}", starting)
    return app


async def _database_state(settings: CloudSettings) -> None:
    """Raise NotReady while the database is unreachable, ConfigError if it must not be used."""
    try:
        engine = db.create_engine(settings.database_url, settings.database_schema)
    except Exception as err:  # a malformed URL or an unknown driver: no retry will help
        raise ConfigError(f"DATABASE_URL cannot be used ({describe_error(err)})") from err
    try:
        await async_check_database(engine)
        if settings.production:
            try:
                await async_check_migrations(engine)
            except NotReady as err:
                raise ConfigError(str(err)) from err
    finally:
        await engine.dispose()


async def async_wait_for_database(settings: CloudSettings, host: str, port: int) -> None:
    """Serve the probes on host:port until the database answers; raises ConfigError when
    the store must not start (production with an unmigrated database, an unusable URL)."""
    state = _Waiting()
    runner = web.AppRunner(_waiting_app(state), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        while True:
            try:
                await _database_state(settings)
                return
            except NotReady as err:
                if str(err) != state.reason:
                    _LOGGER.warning("not serving yet: %s; retrying", err)
                state.reason = str(err)
            await asyncio.sleep(DATABASE_WAIT_RETRY_SECONDS)
    finally:
        await runner.cleanup()
