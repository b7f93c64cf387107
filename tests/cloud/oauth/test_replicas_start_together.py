"""Replicas started at the same moment on one migrated database all come up: the
first-party OAuth clients each of them writes at start-up do not collide (found by the
production stack, where the third replica died on a duplicate `ethos-mobile` row)."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from aiohttp.test_utils import TestServer
from sqlmodel import select

from cloud import db
from cloud.app import create_app
from cloud.config import CloudSettings
from cloud.oauth.models import OAuthClient
from cloud.payments.settings import BtcpaySettings
from tests.support.databases import async_migrate

REPLICAS = 3


def _production(settings: CloudSettings) -> CloudSettings:
    """As replicas run: migrated by the job beforehand, not each at start-up (in one test
    process, Alembic's module-level context cannot run three upgrades at once anyway)."""
    return replace(
        settings,
        env="production",
        base_url="https://store.example",
        secret_key="replica-test-secret-key-0123456789abcdef",
        btcpay=BtcpaySettings(
            url="https://btcpay.invalid",
            api_key="replica-test-key",
            store_id="replica-test-store",
            webhook_secret="replica-test-webhook-secret",
        ),
    )


async def test_three_replicas_starting_at_once_all_serve(cloud_settings):
    cloud_settings = _production(cloud_settings)
    # The migration job ran before them.
    await async_migrate(cloud_settings.database_url, cloud_settings.database_schema)
    servers = [TestServer(create_app(cloud_settings), host="127.0.0.1") for _ in range(REPLICAS)]
    try:
        results = await asyncio.gather(
            *(server.start_server() for server in servers), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        engine = db.create_engine(cloud_settings.database_url, cloud_settings.database_schema)
        try:
            async with db.session_factory(engine)() as session:
                ids = sorted((await session.scalars(select(OAuthClient.client_id))).all())
        finally:
            await engine.dispose()
        assert ids == sorted(set(ids)) and "ethos-mobile" in ids
    finally:
        for server in servers:
            await server.close()
