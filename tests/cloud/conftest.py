"""Fixtures for the cloud: settings bound to the tier's database and SMTP server, an app."""

from __future__ import annotations

from pathlib import Path

import pytest

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
