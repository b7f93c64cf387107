"""What a backup holds, how it is made, and how one is checked before anything is changed.

The archive (a gzipped tar, sealed by ``crypto``) holds ``backup.json`` (what it is) and the
hub's folder: every JSON document (``storage/``: registries, the link's config entry, people
and sessions), the key that seals the link's secrets, ``dashboards/``, ``automations.yaml``
and whatever else the hub keeps there; optionally a copy of ``history.db`` taken with
SQLite's backup API (consistent while the hub writes). Left out: previous copies and
leftovers of documents, an earlier version's database, restores in progress.

A restore is first unpacked and checked into a folder of its own; only a complete, readable
archive no newer than this hub becomes ``restore-pending``, which ``pending`` puts in place
when the hub next starts. Blocking functions: run them in an executor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import zlib
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from ethos import __version__
from hub.backup.crypto import BackupRefused, BackupTooNew, DecryptingReader, EncryptingWriter
from hub.backup.pending import BEFORE_RESTORE_PREFIX, MANIFEST, PENDING_DIR
from hub.const import AUTH_STORAGE_KEY, HISTORY_FILE, LEGACY_DATABASE_FILE, STORAGE_SUBDIR
from hub.core import config_entries, device_registry, entity_registry, history_db
from hub.web.auth import store as auth_store

if TYPE_CHECKING:
    import tarfile

_LOGGER = logging.getLogger(__name__)
MANIFEST_FORMAT = 1
# The documents this hub reads, at the versions it reads (a newer one is refused).
DOCUMENT_VERSIONS = {
    device_registry.STORAGE_KEY: device_registry.STORAGE_VERSION,
    entity_registry.STORAGE_KEY: entity_registry.STORAGE_VERSION,
    config_entries.STORAGE_KEY: config_entries.STORAGE_VERSION,
    AUTH_STORAGE_KEY: auth_store.STORAGE_VERSION,
}
# With tarfile.TarError (tarfile is imported when a backup is made or read, not at start).
_DAMAGED = (EOFError, zlib.error, OSError, ValueError, UnicodeDecodeError)


def backup_file_name(now: datetime | None = None) -> str:
    return f"ethos-hub-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M')}.ethosbackup"


def backed_up(hub_dir: Path) -> list[tuple[Path, str]]:
    """(file, name in the archive) for everything a backup holds but the history."""
    found = []
    for path in sorted(hub_dir.rglob("*")):
        relative = path.relative_to(hub_dir)
        top = relative.parts[0]
        if (
            not path.is_file()
            or path.is_symlink()
            or top.startswith((".", BEFORE_RESTORE_PREFIX, LEGACY_DATABASE_FILE, HISTORY_FILE))
            or top == PENDING_DIR
            or (top == STORAGE_SUBDIR and path.suffix != ".json")  # .bak, .tmp, .corrupt-*
        ):
            continue
        found.append((path, relative.as_posix()))
    return found


def create_backup(hub_dir: Path, target: IO[bytes], passphrase: str, *, history: bool) -> dict:
    """Write the sealed archive of ``hub_dir`` to ``target``; its manifest."""
    files = backed_up(hub_dir)
    documents = {
        name[len(STORAGE_SUBDIR) + 1 : -len(".json")]: json.loads(path.read_bytes())["version"]
        for path, name in files
        if name.startswith(f"{STORAGE_SUBDIR}/")
    }
    history = history and (hub_dir / HISTORY_FILE).is_file()
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "created_at": datetime.now(UTC).isoformat(),
        "hub_version": __version__,
        "documents": documents,
        "history_schema": history_db.SCHEMA_VERSION if history else None,
    }
    import tarfile

    sealed = EncryptingWriter(target, passphrase)
    with (
        tempfile.TemporaryDirectory(dir=hub_dir, prefix=".backup-") as scratch,
        tarfile.open(fileobj=sealed, mode="w|gz") as tar,  # type: ignore[call-overload]
    ):
        _add_bytes(tar, MANIFEST, json.dumps(manifest, indent=1).encode())
        for path, name in files:
            tar.add(path, name, recursive=False)
        if history:
            copy = Path(scratch) / HISTORY_FILE
            _copy_database(hub_dir / HISTORY_FILE, copy)
            tar.add(copy, HISTORY_FILE)
    sealed.close()
    return manifest


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    import tarfile

    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(UTC).timestamp()), 0o600
    tar.addfile(info, _BytesReader(data))


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view, self._offset = memoryview(data), 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size < 0 else self._offset + size
        chunk = bytes(self._view[self._offset : end])
        self._offset += len(chunk)
        return chunk


def _copy_database(source: Path, target: Path) -> None:
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file


def stage_restore(source: IO[bytes], passphrase: str, hub_dir: Path) -> dict:
    """Unpack and check a backup into ``restore-pending``; nothing else is touched.
    BackupRefused (BackupTooNew) says why it cannot be used."""
    hub_dir.mkdir(parents=True, exist_ok=True)
    import tarfile

    staging = Path(tempfile.mkdtemp(dir=hub_dir, prefix=".restore-"))
    try:
        reader = DecryptingReader(source, passphrase)
        try:
            with tarfile.open(fileobj=reader, mode="r|gz") as tar:  # type: ignore[call-overload]
                for member in tar:
                    _check_member(member)
                    tar.extract(member, staging, filter="data")
        except BackupRefused:
            raise
        except (tarfile.TarError, *_DAMAGED) as err:
            raise BackupRefused(f"the backup is damaged ({err}): nothing was changed") from err
        manifest = _check_contents(staging)
        pending = hub_dir / PENDING_DIR
        shutil.rmtree(pending, ignore_errors=True)  # an older restore nobody started with
        os.replace(staging, pending)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _LOGGER.warning(
        "Backup of %s checked; it replaces this hub's data at the next start",
        manifest["created_at"],
    )
    return manifest


def _check_member(member: tarfile.TarInfo) -> None:
    path = PurePosixPath(member.name)
    if (
        not (member.isfile() or member.isdir())
        or path.is_absolute()
        or ".." in path.parts
        or not path.parts
        or path.parts[0].startswith((".", PENDING_DIR))
    ):
        raise BackupRefused(
            f"the backup holds something unexpected ({member.name[:80]!r}): nothing was changed"
        )


def _check_contents(staging: Path) -> dict:
    try:
        manifest = json.loads((staging / MANIFEST).read_bytes())
    except (OSError, ValueError) as err:
        raise BackupRefused("the backup has no readable description: nothing was changed") from err
    newer = "this backup was made by a newer version of the hub ({}): upgrade the hub first"
    if not isinstance(manifest, dict) or not isinstance(manifest.get("format"), int):
        raise BackupRefused("the backup's description is damaged: nothing was changed")
    if manifest["format"] > MANIFEST_FORMAT:
        raise BackupTooNew(newer.format(f"backup format {manifest['format']}"))
    for path in sorted((staging / STORAGE_SUBDIR).glob("*")):
        try:
            document = json.loads(path.read_bytes())
            key, version = document["key"], document["version"]
            assert path.name == f"{key}.json" and isinstance(version, int) and "data" in document
        except (OSError, ValueError, KeyError, TypeError, AssertionError) as err:
            raise BackupRefused(
                f"{path.name} in the backup is damaged: nothing was changed"
            ) from err
        if version > DOCUMENT_VERSIONS.get(key, version):
            raise BackupTooNew(newer.format(f"{key} version {version}"))
    if (staging / HISTORY_FILE).exists():
        try:
            with contextlib.closing(sqlite3.connect(staging / HISTORY_FILE)) as conn:
                schema = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as err:
            raise BackupRefused(
                "the history in the backup is damaged: nothing was changed"
            ) from err
        if schema > history_db.SCHEMA_VERSION:
            raise BackupTooNew(newer.format(f"history schema {schema}"))
    return manifest
