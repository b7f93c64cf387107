"""The restore drill: accounts, a paid order and its owned unit are backed up with
`ethos cloud backup`, restored with `ethos cloud restore` into a fresh database, and a store
started on it serves the same accounts, order and ownership. (SQLite by default; PostgreSQL
with pg_dump/pg_restore in the e2e tier.)"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from cloud.app import create_app
from cloud.config import CloudSettings
from cloud.ops.backup import BackupError, backup, restore
from tests.cloud.common import PASSWORD, log_in, sign_up_and_confirm
from tests.cloud.ops.replicas import run_cli
from tests.support.databases import new_postgres_database


@pytest.fixture
async def fresh_database_url(e2e: bool, tmp_path: Path):
    """A database nobody has used: a new SQLite file, or a new PostgreSQL database."""
    if not e2e:
        yield f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'cloud.db'}"
        return
    async with new_postgres_database("restore") as url:
        yield url


def _env(url: str, schema: str | None, data_dir: Path) -> dict[str, str]:
    env = {"DATABASE_URL": url, "ETHOS_DATA_DIR": str(data_dir)}
    if schema:
        env["ETHOS_DB_SCHEMA"] = schema
    return env


async def test_a_restored_backup_serves_the_same_accounts_orders_and_ownership(
    shop, aiohttp_client, database, fresh_database_url, tmp_path: Path, unique_id
):
    stock = await shop.add_stock("EPD-1", 1)
    [serial] = stock
    buyer, other = f"buyer-{unique_id}@example.org", f"other-{unique_id}@example.org"
    await sign_up_and_confirm(shop.client, shop.smtp, other)
    shop.client.session.cookie_jar.clear()
    await sign_up_and_confirm(shop.client, shop.smtp, buyer)
    order_id = await shop.place_order("EPD-1", 1, email=None)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")

    backup_file = tmp_path / "store.backup"
    made = run_cli(_env(database.url, database.schema, tmp_path / "a"), "backup", str(backup_file))
    assert made.returncode == 0, made.stderr
    assert backup_file.stat().st_mode & 0o077 == 0  # readable by the operator only

    fresh = _env(fresh_database_url, database.schema, tmp_path / "b")
    restored = run_cli(fresh, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    with pytest.raises(BackupError, match=r"not empty .*--force"):  # no longer empty
        await asyncio.to_thread(restore, CloudSettings.from_env(fresh), backup_file)

    settings = replace(
        shop.settings,
        database_url=fresh_database_url,
        database_schema=database.schema,
        data_dir=tmp_path / "restored-data",
    )
    client = await aiohttp_client(create_app(settings))
    for email in (other, buyer):
        client.session.cookie_jar.clear()
        assert (await log_in(client, email, PASSWORD)).status == 200
        me = await client.get("/api/v1/me")
        assert (await me.json())["email"] == email
    orders = await (await client.get("/api/v1/orders")).json()
    assert [(order["id"], order["status"]) for order in orders] == [(order_id, "paid")]
    devices = await (await client.get("/api/v1/me/devices")).json()
    assert [(d["serial"], d["claim_secret"], d["order_id"]) for d in devices] == [
        (serial, stock[serial], order_id)
    ]


def test_restore_refuses_a_file_that_is_no_backup_and_a_missing_one(tmp_path: Path):
    settings = CloudSettings.from_env(_env(f"sqlite:///{tmp_path / 'new.db'}", None, tmp_path))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a database at all")
    with pytest.raises(BackupError, match="not a backup made by `ethos cloud backup`"):
        restore(settings, junk)
    with pytest.raises(BackupError, match="no backup file"):
        restore(settings, tmp_path / "nothing-here")
    assert not (tmp_path / "new.db").exists()


def test_a_sqlite_backup_is_not_restored_into_postgresql(tmp_path: Path):
    sqlite_file = tmp_path / "store.backup"
    sqlite_file.write_bytes(b"SQLite format 3\x00" + bytes(100))
    settings = CloudSettings.from_env(
        _env("postgresql://postgres@127.0.0.1:1/none", None, tmp_path)
    )
    with pytest.raises(BackupError, match="is a sqlite backup but DATABASE_URL is a postgresql"):
        restore(settings, sqlite_file)


def test_backup_does_not_overwrite_a_file_unless_forced(tmp_path: Path):
    settings = CloudSettings.from_env(_env(f"sqlite:///{tmp_path / 'new.db'}", None, tmp_path))
    existing = tmp_path / "kept.backup"
    existing.write_text("precious")
    with pytest.raises(BackupError, match="exists"):
        backup(settings, existing)
    assert existing.read_text() == "precious"
