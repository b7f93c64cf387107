"""The provider's resources on the app: Authlib server, its worker threads, the key ring."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeVar, cast

from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.util import greenlet_spawn

from cloud.db import utcnow
from cloud.oauth import grants
from cloud.oauth.adapter import LoopBridge, OAuthResponse, in_bridge_context
from cloud.oauth.client_cache import ClientCache
from cloud.oauth.const import (
    AUTH_NONE,
    GRANT_AUTHORIZATION_CODE,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
    HUB_SETUP_CLIENT_ID,
    HUB_SETUP_CLIENT_NAME,
    HUB_SETUP_CLIENT_SCOPES,
    MOBILE_CLIENT_ID,
    MOBILE_CLIENT_NAME,
    MOBILE_CLIENT_SCOPES,
)
from cloud.oauth.hubs import HubUnlinkHook
from cloud.oauth.models import OAuthClient
from cloud.oauth.refresh import RefreshGrant
from cloud.oauth.server import EthosAuthorizationServer
from cloud.oauth.signing_keys import KeyRing, async_load_key_ring
from cloud.oauth.token_rows import TokenRows, async_open_token_rows
from cloud.ops.const import JOB_SIGNING_KEY_ROTATION
from cloud.ops.keys import JOBS
from cloud.web.keys import DB, ENGINE, SETTINGS
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
HOUSEKEEPING_SECONDS = 300.0
# Replicas starting together: a collided insert is retried (as an update) this often.
FIRST_PARTY_SYNC_ATTEMPTS = 3


@dataclass
class OAuthRuntime:
    server: EthosAuthorizationServer
    executor: ThreadPoolExecutor | None = None  # created at start-up, shut down at cleanup
    key_ring: KeyRing | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # The token endpoint's and bearer requests' statements, and the refresh grant on them.
    rows: TokenRows | None = None
    refresh: RefreshGrant | None = None
    # What other areas do when an owner unlinks a hub (cloud/oauth/hubs.py), in order.
    unlink_hooks: list[HubUnlinkHook] = field(default_factory=list)

    def keys(self) -> KeyRing:
        assert self.key_ring is not None, "the key ring loads at start-up"
        return self.key_ring

    def token_rows(self) -> TokenRows:
        assert self.rows is not None, "the OAuth cleanup context is not running"
        return self.rows

    def refresh_grant(self) -> RefreshGrant:
        assert self.refresh is not None, "the OAuth cleanup context is not running"
        return self.refresh


OAUTH: web.AppKey[OAuthRuntime] = web.AppKey("oauth_runtime", OAuthRuntime)


async def async_run_authlib(
    app: web.Application, work: Callable[[EthosAuthorizationServer], T], *, on_loop: bool = False
) -> T:
    """Run Authlib in a worker thread within one transaction (`on_loop`: in a greenlet on
    the event loop, as SQLAlchemy's async layer does, for work that signs nothing).

    The transaction commits unless Authlib answered with an error, so a refused request
    leaves nothing behind; facts that must stick anyway (`LoopBridge.defer`) follow in
    their own transaction.
    """
    runtime = app[OAUTH]
    loop = asyncio.get_running_loop()
    assert runtime.executor is not None, "the OAuth cleanup context is not running"
    async with app[DB]() as session:
        current = LoopBridge(loop, session, on_loop=on_loop)
        try:
            result: T
            if on_loop:
                result = cast(
                    T,
                    await greenlet_spawn(in_bridge_context, current, lambda: work(runtime.server)),
                )
            else:
                result = await loop.run_in_executor(
                    runtime.executor, in_bridge_context, current, lambda: work(runtime.server)
                )
            if isinstance(result, OAuthResponse) and result.status >= 400:
                await session.rollback()
            else:
                await session.commit()
        finally:
            await session.close()
            await current.async_run_deferred(app[DB])
    return result


def _first_party_clients(app: web.Application) -> list[OAuthClient]:
    settings = app[SETTINGS]
    return [
        OAuthClient(
            client_id=MOBILE_CLIENT_ID,
            name=MOBILE_CLIENT_NAME,
            redirect_uris="\n".join(settings.oauth.mobile_redirects(settings.base_url)),
            grant_types=f"{GRANT_AUTHORIZATION_CODE} {GRANT_REFRESH_TOKEN}",
            scope=" ".join(MOBILE_CLIENT_SCOPES),
            token_endpoint_auth_method=AUTH_NONE,
            first_party=True,
        ),
        OAuthClient(
            client_id=HUB_SETUP_CLIENT_ID,
            name=HUB_SETUP_CLIENT_NAME,
            redirect_uris="",
            grant_types=f"{GRANT_DEVICE_CODE} {GRANT_REFRESH_TOKEN}",
            scope=" ".join(HUB_SETUP_CLIENT_SCOPES),
            token_endpoint_auth_method=AUTH_NONE,
            first_party=True,
        ),
    ]


async def _async_sync_first_party_clients(app: web.Application) -> None:
    """Write the first-party clients. Replicas starting together may both find a client
    missing; the one whose insert collides reads the other's row and updates it instead."""
    for attempt in range(FIRST_PARTY_SYNC_ATTEMPTS):
        try:
            await _async_write_first_party_clients(app)
            return
        except IntegrityError:
            if attempt + 1 == FIRST_PARTY_SYNC_ATTEMPTS:
                raise
            _LOGGER.info("first-party OAuth clients written by another replica; updating")


async def _async_write_first_party_clients(app: web.Application) -> None:
    async with app[DB]() as session, session.begin():
        for wanted in _first_party_clients(app):
            row = await session.get(OAuthClient, wanted.client_id)
            if row is None:
                session.add(wanted)
                await session.flush()
                continue
            for name in ("name", "redirect_uris", "grant_types", "scope"):
                setattr(row, name, getattr(wanted, name))
            row.token_endpoint_auth_method, row.first_party = AUTH_NONE, True


async def async_reload_keys(app: web.Application, may_rotate: bool = False) -> KeyRing:
    """Load the signing keys (rotating when due with `may_rotate`: the replica holding the
    rotation job); replicas converge through the database."""
    oauth = app[SETTINGS].oauth
    async with app[DB]() as session, session.begin():
        ring = await async_load_key_ring(
            session,
            utcnow(),
            secret_key=app[SETTINGS].secret_key,
            rotate_after=timedelta(days=oauth.key_rotation_days),
            publish_for=timedelta(seconds=max(oauth.id_token_seconds, oauth.access_token_seconds)),
            may_rotate=may_rotate,
            held=app[OAUTH].key_ring,
        )
    app[OAUTH].key_ring = ring
    return ring


async def async_housekeeping(app: web.Application) -> None:
    """Reload the signing keys; forget expired codes, grants and tokens."""
    await async_reload_keys(app)
    async with app[DB]() as session, session.begin():
        removed = await grants.purge_expired(session, utcnow())
    if removed:
        _LOGGER.info("forgot %s expired OAuth rows", removed)


async def _async_housekeeping_forever(app: web.Application) -> None:
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        try:
            await async_housekeeping(app)
        except Exception:  # a database hiccup must not end the housekeeping
            _LOGGER.exception("OAuth housekeeping failed; keeping the current keys")


async def _async_rotate_keys_forever(app: web.Application) -> None:
    """The once-only job (one replica, under its lease): rotate the signing key when due."""
    while True:
        try:
            await async_reload_keys(app, may_rotate=True)
        except Exception:  # a database hiccup must not end the job
            _LOGGER.exception("signing-key rotation check failed; trying again later")
        await asyncio.sleep(HOUSEKEEPING_SECONDS)


async def oauth_ctx(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context (after the database's): clients, keys, worker threads."""
    runtime, settings = app[OAUTH], app[SETTINGS]
    runtime.executor = ThreadPoolExecutor(settings.oauth.worker_threads, thread_name_prefix="oauth")
    await _async_sync_first_party_clients(app)
    await async_reload_keys(app)
    runtime.rows = await async_open_token_rows(
        app[ENGINE], settings.database_url, settings.database_schema
    )
    runtime.refresh = RefreshGrant(runtime.server, runtime.rows, ClientCache(app[DB]))
    runtime.tasks.append(
        asyncio.create_task(_async_housekeeping_forever(app), name="oauth-housekeeping")
    )
    app[JOBS].add(JOB_SIGNING_KEY_ROTATION, lambda: _async_rotate_keys_forever(app))
    try:
        yield
    finally:
        await app[JOBS].async_stop(JOB_SIGNING_KEY_ROTATION)
        await async_cancel_and_wait(*runtime.tasks)
        runtime.tasks.clear()
        runtime.executor.shutdown(wait=False, cancel_futures=True)
        runtime.executor = None
        await runtime.rows.aclose()
        runtime.rows = runtime.refresh = None


def create_runtime(app: web.Application) -> OAuthRuntime:
    settings = app[SETTINGS]
    # Authlib logs issued tokens at DEBUG: keep its logger above that, secrets stay out.
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger().level))
    runtime = OAuthRuntime(
        server=EthosAuthorizationServer(settings.base_url, settings.oauth, lambda: runtime.keys())
    )
    return runtime
