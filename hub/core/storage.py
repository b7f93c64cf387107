"""Versioned JSON documents for what the hub keeps and seldom changes (registries, config
entries, people), as Home Assistant's ``.storage`` keeps them.

Each document is ``$ETHOS_DATA_DIR/hub/storage/<key>.json``: ``{"key", "version", "data"}``.
A write goes to a temporary file that is flushed and fsynced, then renamed over the document,
and the folder is fsynced: a crash leaves the old document or the new one, never a mix. The
document being replaced stays beside it as ``<key>.json.bak`` (the previous good copy). A
document that no longer parses is set aside (``<key>.json.corrupt-<time>``) and the previous
good copy is read instead, loudly; with no good copy the hub refuses to start and says why.

A document written by an older hub is migrated one version step at a time; one written by a
newer hub is refused. Writes are debounced (``async_delay_save``) or immediate
(``async_save``), and always run in one storage thread. A write that fails (a full disk) is
reported in ``WriteProblems``, kept in memory and retried: the hub keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from hub.const import STORAGE_RETRY_S
from hub.core.callback import callback
from hub.core.errors import HubError

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
Migration = Callable[[Any], Any]  # data of version n -> data of version n + 1
Snapshot = Callable[[], Any]  # the document's data as JSON-ready values, taken in the loop


class StorageError(HubError):
    """A stored document cannot be used; the message says which file and what to do."""


class DocumentCorrupt(StorageError):
    """Neither the document nor its previous good copy can be read."""


class DocumentTooNew(StorageError):
    """The document was written by a newer version of the hub."""


class WriteProblems:
    """What the hub could not write, by source, for the log and the UI. Each problem is
    logged once when it starts and once when writing works again."""

    def __init__(self) -> None:
        self._problems: dict[str, str] = {}

    def report(self, source: str, err: BaseException) -> None:
        message = f"cannot write {source}: {describe_os_error(err)}"
        if self._problems.get(source) != message:
            _LOGGER.error("%s; changes are kept in memory and written when possible", message)
        self._problems[source] = message

    def resolve(self, source: str) -> None:
        if self._problems.pop(source, None) is not None:
            _LOGGER.warning("Writing %s works again; nothing was lost", source)

    def messages(self) -> list[str]:
        return list(self._problems.values())

    def __bool__(self) -> bool:
        return bool(self._problems)


def describe_os_error(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (the directory entry is data too)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, payload: bytes, *, keep_previous: bool = False) -> None:
    """Temp file, fsync, rename, fsync folder. Blocking. ``keep_previous``: the file being
    replaced stays as ``<name>.bak``. The file is readable by the hub's user only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if keep_previous:
            backup = path.with_name(path.name + ".bak")
            backup.unlink(missing_ok=True)
            with contextlib.suppress(FileNotFoundError):  # the first write: nothing to keep
                os.link(path, backup)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


class DocumentStore:
    """The folder of documents and the one thread that reads and writes them."""

    def __init__(self, folder: Path, problems: WriteProblems | None = None) -> None:
        self.folder = folder
        self.problems = problems if problems is not None else WriteProblems()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-storage")
        self._documents: dict[str, JsonDocument] = {}

    def document(
        self, key: str, version: int, migrations: Mapping[int, Migration] | None = None
    ) -> JsonDocument:
        """The document ``key`` (one object per key)."""
        if key in self._documents:
            return self._documents[key]
        document = JsonDocument(self, key, version, migrations or {})
        self._documents[key] = document
        return document

    async def async_run(self, func: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def async_flush(self) -> None:
        """Write every pending change now (the hub is stopping, or a backup is taken)."""
        await asyncio.gather(*(d.async_flush() for d in self._documents.values()))

    async def async_close(self) -> None:
        await self.async_flush()
        for document in self._documents.values():
            document.cancel_retry()
        self._executor.shutdown(wait=True)


class JsonDocument:
    """One document: loaded once, then written whole whenever its owner changes it."""

    def __init__(
        self, store: DocumentStore, key: str, version: int, migrations: Mapping[int, Migration]
    ) -> None:
        self._store = store
        self.key = key
        self.version = version
        self._migrations = migrations
        self.path = store.folder / f"{key}.json"
        self._snapshot: Snapshot | None = None
        self._dirty = False
        self._timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []

    async def async_load(self) -> Any | None:
        """The document's data at the current version, or None if it was never written."""
        found = await self._store.async_run(self._read)
        if found is None:
            return None
        version, data = found
        if version > self.version:
            raise DocumentTooNew(
                f"{self.path} was written by a newer version of the hub (document version "
                f"{version}, this hub reads up to {self.version}): upgrade the hub or restore "
                "a backup made by this version"
            )
        if version == self.version:
            return data
        for step in range(version, self.version):
            migrate = self._migrations.get(step)
            if migrate is None:
                raise StorageError(f"{self.path}: no migration from version {step}")
            data = migrate(data)
        _LOGGER.info("Migrated %s from version %s to %s", self.key, version, self.version)
        await self.async_save(lambda: data)  # the file on disk matches this hub from now on
        return data

    def _read(self) -> tuple[int, Any] | None:
        try:
            return self._parse(self.path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            problem = err
        aside = self.path.with_name(
            f"{self.path.name}.corrupt-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        )
        backup = self.path.with_name(self.path.name + ".bak")
        try:
            os.replace(self.path, aside)
            raw = backup.read_bytes()
            found = self._parse(raw)
            write_atomically(self.path, raw)
        except (OSError, ValueError) as err:
            raise DocumentCorrupt(
                f"{self.path} cannot be read ({problem}) and no good previous copy could be "
                f"used ({err}); it was moved to {aside.name}. Restore a backup, or remove "
                "the file to start this part afresh"
            ) from problem
        _LOGGER.error(
            "%s cannot be read (%s); it was moved to %s and the previous good copy is used: "
            "the last change before it was written may be missing",
            self.path,
            problem,
            aside.name,
        )
        return found

    def _parse(self, raw: bytes) -> tuple[int, Any]:
        document = json.loads(raw)
        if not isinstance(document, dict) or document.get("key") != self.key:
            raise ValueError(f"not a {self.key} document")
        version = document.get("version")
        if not isinstance(version, int) or version < 1 or "data" not in document:
            raise ValueError("no version or data")
        return version, document["data"]

    # Writing ------------------------------------------------------------------------
    @callback
    def async_delay_save(self, snapshot: Snapshot, delay: float) -> None:
        """Write within ``delay`` seconds; later changes before then share the write."""
        self._snapshot, self._dirty = snapshot, True
        if self._timer is None and not self._writing:
            self._timer = asyncio.get_running_loop().call_later(delay, self._start_writer)

    async def async_save(self, snapshot: Snapshot) -> None:
        """Write now; returns once this change is on disk, or reported as not written."""
        self._snapshot, self._dirty = snapshot, True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._start_writer()
        await asyncio.shield(waiter)

    async def async_flush(self) -> None:
        """Write a pending change now (one more attempt if writing failed before)."""
        if self._dirty and self._snapshot is not None:
            await self.async_save(self._snapshot)
        elif self._writer is not None:
            await asyncio.shield(self._writer)

    def cancel_retry(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @property
    def _writing(self) -> bool:
        return self._writer is not None and not self._writer.done()

    def _start_writer(self) -> None:
        self.cancel_retry()
        if not self._writing:
            self._writer = asyncio.get_running_loop().create_task(
                self._async_write(), name=f"write {self.key}"
            )

    async def _async_write(self) -> None:
        while self._dirty and self._snapshot is not None:
            self._dirty = False
            waiters, self._waiters = self._waiters, []
            try:
                # Encoded in the loop: the data may change as soon as the loop moves on.
                document = {"key": self.key, "version": self.version, "data": self._snapshot()}
                payload = json.dumps(document, ensure_ascii=False, indent=1).encode()
                await self._store.async_run(self._write_file, payload)
            except (OSError, TypeError, ValueError) as err:
                self._dirty = True  # kept in memory; the next save or the retry writes it
                self._store.problems.report(f"{self.key}.json", err)
                self._timer = asyncio.get_running_loop().call_later(
                    STORAGE_RETRY_S, self._start_writer
                )
                return
            finally:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
            self._store.problems.resolve(f"{self.key}.json")

    def _write_file(self, payload: bytes) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomically(self.path, payload, keep_previous=True)
