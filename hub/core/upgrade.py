"""Upgrade of a hub installed by an earlier version, once, at its first start.

Earlier hubs kept everything in ``hub.db``: SQLModel tables for the registries, config
entries, people and the state history. Each table becomes a list in a JSON document (version
1 of every document has the old columns as its fields) and the history moves to
``history.db``. The old file is renamed ``hub.db.before-upgrade`` last, so an upgrade cut
short is simply done again at the next start.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub.const import AUTH_STORAGE_KEY, HISTORY_FILE, LEGACY_DATABASE_FILE
from hub.core.history_db import HistoryDatabase, transaction
from hub.core.storage import DocumentStore, write_atomically

_LOGGER = logging.getLogger(__name__)
UPGRADED_SUFFIX = ".before-upgrade"
FIRST_DOCUMENT_VERSION = 1
# document key -> {list in the document: old table}
LEGACY_TABLES: dict[str, dict[str, str]] = {
    "core.device_registry": {"devices": "hub_device"},
    "core.entity_registry": {"entities": "hub_entity"},
    "core.config_entries": {"entries": "hub_config_entry"},
    AUTH_STORAGE_KEY: {
        "users": "hub_user",
        "sessions": "hub_session",
        "invitations": "hub_invitation",
        "grants": "hub_user_grant",
    },
}


async def async_upgrade_legacy_database(hub_dir: Path, storage: DocumentStore) -> None:
    """Turn an earlier version's ``hub.db`` into documents and ``history.db``, if there is one."""
    if (hub_dir / LEGACY_DATABASE_FILE).is_file():
        await storage.async_run(upgrade_legacy_database, hub_dir, storage.folder)


def upgrade_legacy_database(hub_dir: Path, storage_dir: Path) -> None:
    """Blocking: run it in the storage thread before anything is loaded."""
    legacy = hub_dir / LEGACY_DATABASE_FILE
    _LOGGER.warning("Upgrading %s (written by an earlier version of the hub)", legacy)
    storage_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with closing(sqlite3.connect(legacy)) as old:
        tables = {name for (name,) in old.execute("SELECT name FROM sqlite_master")}
        for key, lists in LEGACY_TABLES.items():
            data = {
                name: _table_rows(old, table) if table in tables else []
                for name, table in lists.items()
            }
            document = {"key": key, "version": FIRST_DOCUMENT_VERSION, "data": data}
            payload = json.dumps(document, ensure_ascii=False, indent=1).encode()
            write_atomically(storage_dir / f"{key}.json", payload)
            _LOGGER.info("Upgraded %s: %s", key, {n: len(rows) for n, rows in data.items()})
    moved = _move_history(legacy, hub_dir / HISTORY_FILE) if "hub_state_history" in tables else 0
    legacy.rename(legacy.with_name(legacy.name + UPGRADED_SUFFIX))
    _LOGGER.warning(
        "Upgrade done (%s history rows moved); the old database is kept as %s%s and may be "
        "deleted once the hub works",
        moved,
        LEGACY_DATABASE_FILE,
        UPGRADED_SUFFIX,
    )


def _table_rows(conn: sqlite3.Connection, table: str) -> list[dict[str, Any]]:
    """Every row as JSON values: JSON columns parsed, booleans as such, times as ISO 8601 UTC
    (SQLAlchemy stored them without a zone)."""
    columns = [
        (name, kind.upper()) for _, name, kind, *_ in conn.execute(f"PRAGMA table_info({table})")
    ]
    rows = []
    for values in conn.execute(f"SELECT * FROM {table}"):  # noqa: S608 (our own table names)
        row: dict[str, Any] = {}
        for (name, kind), value in zip(columns, values, strict=True):
            if value is not None and kind == "JSON":
                value = json.loads(value)
            elif value is not None and kind == "BOOLEAN":
                value = bool(value)
            elif value is not None and kind == "DATETIME":
                value = datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()
            row[name] = value
        rows.append(row)
    return rows


def _move_history(legacy: Path, target: Path) -> int:
    for leftover in (target, *(target.with_name(target.name + s) for s in ("-wal", "-shm"))):
        leftover.unlink(missing_ok=True)  # from an upgrade cut short
    database = HistoryDatabase(target)
    database.open()
    try:
        conn = database.conn
        conn.execute("ATTACH DATABASE ? AS legacy", (os.fspath(legacy),))
        with transaction(conn):
            conn.execute(
                "INSERT INTO entities (entity_id) "
                "SELECT DISTINCT entity_id FROM legacy.hub_state_history ORDER BY entity_id"
            )
            cursor = conn.execute(
                "INSERT INTO states (entity, ts, state) SELECT e.id, h.ts, h.state "
                "FROM legacy.hub_state_history h JOIN entities e ON e.entity_id = h.entity_id "
                "ORDER BY h.ts"
            )
        conn.execute("DETACH DATABASE legacy")
        return cursor.rowcount
    finally:
        database.close()
