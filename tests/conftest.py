"""Test tiers and the shared out-of-process dependencies.

Default tier: SQLite files, an in-process SMTP server, an in-process MQTT broker.
``pytest --e2e`` (or ``ETHOS_E2E=1``): PostgreSQL (``DATABASE_URL``), an SMTP server
process, Mosquitto on 127.0.0.1:1883. Every e2e test gets its own PostgreSQL schema and
unique ids so the shared services stay clean.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import processes
from tests.support.databases import (
    DEFAULT_E2E_DATABASE_URL,
    async_execute,
    async_fill_schema,
    async_migrate,
    async_schema_at_head_sql,
    asyncpg_dsn,
)
from tests.support.dynsec_broker import DynsecBroker
from tests.support.smtp_sink import MailCatcher, start_in_process

pytest_plugins = ["tests.support.hang_report", "tests.support.remote_broker"]

DEFAULT_E2E_MQTT_URL = "mqtt://127.0.0.1:1883"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--e2e",
        action="store_true",
        default=os.environ.get("ETHOS_E2E", "") not in ("", "0", "false"),
        help="run integration tests against real PostgreSQL, SMTP process, Mosquitto, browser",
    )
    parser.addoption(
        "--tier-dependent-only",
        action="store_true",
        default=False,
        help="with --e2e: leave out tests the tier does not change (they ran in the default "
        "tier already): tests that use neither a tier fixture nor an e2e marker",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e_only: runs only with --e2e (needs real services)")
    config.addinivalue_line("markers", "browser: drives a real Chromium (e2e tier only)")


# Fixtures whose value or presence depends on the tier; a test using none of them (directly
# or through other fixtures) and marked neither e2e_only nor browser runs the same in both.
TIER_FIXTURES = frozenset({"e2e", "remote_broker"})
TIER_MARKERS = ("e2e_only", "browser")


def depends_on_tier(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(fixtures & TIER_FIXTURES) or any(m in item.keywords for m in TIER_MARKERS)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--e2e"):
        if config.getoption("--tier-dependent-only"):
            same = [item for item in items if not depends_on_tier(item)]
            if same:
                config.hook.pytest_deselected(items=same)
                items[:] = [item for item in items if depends_on_tier(item)]
        return
    skip = pytest.mark.skip(reason="needs --e2e (real services)")
    for item in items:
        if "e2e_only" in item.keywords or "browser" in item.keywords:
            item.add_marker(skip)


def pytest_report_header(config: pytest.Config) -> str:
    tier = (
        "e2e (real PostgreSQL, SMTP process, Mosquitto)"
        if config.getoption("--e2e")
        else ("default (SQLite, in-process SMTP and MQTT)")
    )
    return f"ethos test tier: {tier}"


@pytest.fixture(scope="session")
def e2e(pytestconfig: pytest.Config) -> bool:
    return bool(pytestconfig.getoption("--e2e"))


@pytest.fixture
def unique_id() -> str:
    """Short unique token for topics, serials and emails shared with real services."""
    return uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class DatabaseTarget:
    url: str
    schema: str | None = None


@pytest.fixture
async def database(e2e: bool, tmp_path: Path) -> AsyncIterator[DatabaseTarget]:
    """An empty database: a SQLite file, or in e2e a fresh schema in PostgreSQL."""
    if not e2e:
        yield DatabaseTarget(url=f"sqlite+aiosqlite:///{tmp_path / 'ethos.db'}")
        return
    import asyncpg

    url = os.environ.get("DATABASE_URL", DEFAULT_E2E_DATABASE_URL)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    await async_execute(url, f'CREATE SCHEMA "{schema}"')
    try:
        yield DatabaseTarget(url=url, schema=schema)
    finally:
        conn = await asyncpg.connect(asyncpg_dsn(url))
        try:
            # A store's background job may still be finishing a write in the schema: the
            # server then picks the drop as a deadlock victim: wait a moment and drop again.
            for attempt in range(5):
                try:
                    await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                    break
                except asyncpg.DeadlockDetectedError:
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2)
        finally:
            await conn.close()


@dataclass(frozen=True)
class SchemaAtHead:
    """The store's schema at the migrations' head, made once per run (per worker): a
    SQLite file to copy, or PostgreSQL's SQL (with the schema name it was dumped from)."""

    sqlite_file: Path | None = None
    postgres_sql: str = ""
    postgres_name: str = ""


@pytest.fixture(scope="session")
def schema_at_head(e2e: bool, tmp_path_factory: pytest.TempPathFactory) -> SchemaAtHead:
    if not e2e:
        path = tmp_path_factory.mktemp("schema-at-head") / "ethos.db"
        asyncio.run(async_migrate(f"sqlite+aiosqlite:///{path}", None))
        return SchemaAtHead(sqlite_file=path)
    url = os.environ.get("DATABASE_URL", DEFAULT_E2E_DATABASE_URL)
    sql, name = asyncio.run(async_schema_at_head_sql(url))
    return SchemaAtHead(postgres_sql=sql, postgres_name=name)


@pytest.fixture
async def migrated_database(
    database: DatabaseTarget, schema_at_head: SchemaAtHead
) -> DatabaseTarget:
    """`database` already at the migrations' head (a copy of the run's migrated schema), so
    a store started on it finds nothing to migrate; `database` stays empty for the tests of
    migrating itself."""
    if schema_at_head.sqlite_file is not None:
        shutil.copyfile(schema_at_head.sqlite_file, database.url.split(":///", 1)[1])
    else:
        assert database.schema is not None
        await async_fill_schema(
            database.url, database.schema, schema_at_head.postgres_sql, schema_at_head.postgres_name
        )
    return database


@pytest.fixture
def smtp_server(e2e: bool, tmp_path: Path) -> Iterator[MailCatcher]:
    """A real SMTP server storing mail in a Maildir: in-process, or a separate process in e2e."""
    maildir = tmp_path / "maildir"
    if not e2e:
        controller = start_in_process(maildir)
        try:
            yield MailCatcher(maildir, controller.hostname, controller.port)
        finally:
            controller.stop()
        return
    port = processes.free_port()
    proc = processes.start_python(
        ["-m", "tests.support.smtp_sink", "--port", str(port), "--maildir", str(maildir)]
    )
    try:
        processes.wait_for_port("127.0.0.1", port, proc)
        yield MailCatcher(maildir, "127.0.0.1", port)
    finally:
        processes.stop(proc)


@pytest.fixture
async def mqtt_broker_url(e2e: bool) -> AsyncIterator[str]:
    """URL of a running MQTT broker: in-process amqtt, or Mosquitto in e2e."""
    if e2e:
        yield os.environ.get("MQTT_URL", DEFAULT_E2E_MQTT_URL)
        return
    from tests.support.mqtt_broker import start_amqtt

    broker, port = await start_amqtt()
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await broker.shutdown()


@pytest.fixture
def dynsec_broker(tmp_path: Path) -> Iterator[DynsecBroker]:
    """A private Mosquitto with dynamic security (anonymous off, admin = the hub's account),
    in both tiers: device identity is only tested where the broker enforces it."""
    from tests.support.dynsec_broker import start_dynsec_broker, stop_dynsec_broker

    broker = start_dynsec_broker(tmp_path / "mosquitto")
    try:
        yield broker
    finally:
        stop_dynsec_broker(broker)
