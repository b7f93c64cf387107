"""Fixtures for the cloud: settings bound to the tier's database and SMTP server, an app,
sessions on the tier's database at the migrations' head."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud import db
from cloud.app import create_app
from cloud.config import CloudSettings
from tests.conftest import DatabaseTarget
from tests.support.smtp_sink import MailCatcher


@pytest.fixture
def cloud_settings(
    migrated_database: DatabaseTarget, smtp_server: MailCatcher, tmp_path: Path
) -> CloudSettings:
    return CloudSettings(
        data_dir=tmp_path / "data",
        base_url="http://127.0.0.1:8080",
        database_url=migrated_database.url,
        database_schema=migrated_database.schema,
        smtp_url=smtp_server.url,
    )


@pytest.fixture
async def client(aiohttp_client, cloud_settings: CloudSettings):
    return await aiohttp_client(create_app(cloud_settings))


@pytest.fixture
async def store_sessions(
    migrated_database: DatabaseTarget,
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the store's database at the migrations' head (engine disposed after)."""
    engine = db.create_engine(migrated_database.url, migrated_database.schema)
    try:
        yield db.session_factory(engine)
    finally:
        await engine.dispose()
