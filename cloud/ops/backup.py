"""`ethos cloud backup FILE` and `ethos cloud restore FILE`: the store's whole database.

PostgreSQL: `pg_dump --format=custom` (Debian's postgresql-client; its major version must
be at least the server's) and `pg_restore`. SQLite: the online backup API, consistent while
the store runs. A restore goes into an empty database only, unless `force`; what is kept
sealed in the database (claim secrets, signing keys) needs the same ETHOS_SECRET_KEY.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import text

from cloud import db
from cloud.config import CloudSettings

_LOGGER = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
PG_TOOL_TIMEOUT_SECONDS = 3600


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class PostgresTarget:
    """libpq connection parameters (the password goes in the environment, never argv)."""

    host: str
    port: int
    user: str
    password: str | None
    dbname: str
    schema: str | None

    @classmethod
    def from_settings(cls, settings: CloudSettings) -> PostgresTarget:
        parts = urlsplit(settings.database_url)
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password) if parts.password else None,
            dbname=unquote(parts.path.lstrip("/")) or "postgres",
            schema=settings.database_schema,
        )

    def args(self) -> list[str]:
        return ["--host", self.host, "--port", str(self.port), "--username", self.user]

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def _is_sqlite(settings: CloudSettings) -> bool:
    return settings.database_url.startswith("sqlite")


def _sqlite_path(settings: CloudSettings) -> Path:
    return Path(settings.database_url.split("///", 1)[1])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} not found: install PostgreSQL's client tools (postgresql-client)"
        )
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(  # noqa: S603 (fixed tool, arguments we built)
        command,
        env=env,
        capture_output=True,
        text=True,
        timeout=PG_TOOL_TIMEOUT_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _file_kind(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(len(SQLITE_MAGIC))
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    return "unknown"


def backup(settings: CloudSettings, target: Path, force: bool = False) -> str:
    """Write the whole database to `target`; returns what was done, for the operator."""
    if target.exists() and not force:
        raise BackupError(f"{target} exists; choose another file or pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=target.name, suffix=".partial", dir=target.parent)
    os.close(handle)
    try:
        if _is_sqlite(settings):
            source_path = _sqlite_path(settings)
            if not source_path.exists():
                raise BackupError(f"no database at {source_path} (DATABASE_URL)")
            source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
            destination = sqlite3.connect(temporary)
            try:
                source.backup(destination)  # consistent while the store writes
            finally:
                destination.close()
                source.close()
            kind = "SQLite online backup"
        else:
            pg = PostgresTarget.from_settings(settings)
            command = [_tool("pg_dump"), *pg.args(), "--format=custom", "--no-owner"]
            if pg.schema:
                command.append(f"--schema={pg.schema}")
            _run([*command, "--file", temporary, pg.dbname], pg.env())
            kind = "pg_dump, custom format"
        os.chmod(temporary, 0o600)  # accounts and orders: the operator's eyes only
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _LOGGER.info("backup written to %s (%s)", target, kind)
    return f"backup written to {target} ({kind}, {target.stat().st_size} bytes)"


async def _async_table_count(settings: CloudSettings) -> int:
    engine = db.create_engine(settings.database_url, settings.database_schema)
    try:
        async with engine.connect() as connection:
            if _is_sqlite(settings):
                query = text("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
            elif settings.database_schema:
                query = text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema = :schema"
                ).bindparams(schema=settings.database_schema)
            else:
                query = text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema "
                    "NOT IN ('pg_catalog', 'information_schema')"
                )
            return int((await connection.execute(query)).scalar() or 0)
    finally:
        await engine.dispose()


def restore(settings: CloudSettings, source: Path, force: bool = False) -> str:
    """Put the backup `source` into the (empty, unless `force`) database of DATABASE_URL."""
    if not source.is_file():
        raise BackupError(f"no backup file at {source}")
    kind = _file_kind(source)
    wanted = "sqlite" if _is_sqlite(settings) else "postgresql"
    if kind == "unknown":
        raise BackupError(f"{source} is not a backup made by `ethos cloud backup`")
    if kind != wanted:
        raise BackupError(
            f"{source} is a {kind} backup but DATABASE_URL is a {wanted} database; restore it "
            f"into a {kind} database"
        )
    if _is_sqlite(settings) and not _sqlite_path(settings).exists():
        tables = 0
    else:
        try:
            tables = asyncio.run(_async_table_count(settings))
        except Exception as err:
            raise BackupError(f"cannot reach the database to restore into ({err})") from err
    if tables and not force:
        raise BackupError(
            f"the database to restore into is not empty ({tables} tables); restore into an "
            "empty database, or pass --force to replace what it holds"
        )
    if _is_sqlite(settings):
        _restore_sqlite(source, _sqlite_path(settings))
    else:
        pg = PostgresTarget.from_settings(settings)
        command = [_tool("pg_restore"), *pg.args(), "--no-owner", "--exit-on-error"]
        if tables:
            command += ["--clean", "--if-exists"]
        _run([*command, "--dbname", pg.dbname, str(source)], pg.env())
    _LOGGER.info("database restored from %s", source)
    return f"database restored from {source}"


def _restore_sqlite(source: Path, destination: Path) -> None:
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        backup_db.execute("SELECT count(*) FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as err:
        backup_db.close()
        raise BackupError(f"{source} is not a store backup ({err})") from err
    destination.parent.mkdir(parents=True, exist_ok=True)
    target = sqlite3.connect(destination)
    try:
        backup_db.backup(target)  # replaces every page of the destination
    finally:
        target.close()
        backup_db.close()
