"""Wires remote access: its routes, its personal data, its part in unlinking a hub, the
broker's management client and the sweep (a once-only job). Call after the OAuth area:
tokens are signed by its key ring, and unlinking runs its hooks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.accounts.keys import PERSONAL_DATA
from cloud.oauth.runtime import OAUTH
from cloud.ops.keys import JOBS
from cloud.remote import routes, service
from cloud.remote.broker_admin import NoBroker, RabbitMQBrokerAdmin
from cloud.remote.const import BROKER_TOKEN_PATH, HOME_PATH, JOB_REMOTE_SWEEP
from cloud.remote.personal_data import remote_holder
from cloud.remote.runtime import REMOTE, RemoteRuntime
from cloud.web.keys import API, DB, SETTINGS

_LOGGER = logging.getLogger(__name__)


async def _remote_ctx(app: web.Application) -> AsyncIterator[None]:
    runtime, settings = app[REMOTE], app[REMOTE].settings
    http: aiohttp.ClientSession | None = None
    if isinstance(runtime.admin, NoBroker) and settings.admin_url:
        http = aiohttp.ClientSession()
        runtime.admin = RabbitMQBrokerAdmin.from_url(
            http, settings.admin_url, settings.admin_user, settings.admin_password
        )
    elif isinstance(runtime.admin, NoBroker) and settings.configured:
        _LOGGER.warning(
            "remote access has no broker management API (ETHOS_REMOTE_BROKER_ADMIN_URL): "
            "revoked people stay connected until they disconnect"
        )
    sweeping = not isinstance(runtime.admin, NoBroker)
    if sweeping:
        app[JOBS].add(JOB_REMOTE_SWEEP, lambda: runtime.async_sweep_forever(app[DB]))
    try:
        yield
    finally:
        if sweeping:
            await app[JOBS].async_stop(JOB_REMOTE_SWEEP)
        await runtime.async_close()
        if http is not None:
            await http.close()


def setup(app: web.Application) -> None:
    runtime = app[REMOTE] = RemoteRuntime(app[SETTINGS].remote)
    app[API].include(routes.ROUTES)
    app.router.add_get(HOME_PATH, routes.home_page)
    app.router.add_post(BROKER_TOKEN_PATH, routes.broker_token)
    app[PERSONAL_DATA].register(remote_holder(runtime))

    async def forget_unlinked_hub(session: AsyncSession, client_id: str) -> None:
        # The hub and its people lose their rights once the unlinking commits.
        runtime.disconnect_after_commit(session, await service.forget_hub(session, client_id))

    app[OAUTH].unlink_hooks.append(forget_unlinked_hub)
    app.cleanup_ctx.append(_remote_ctx)
