"""SQLite storage: one engine, used from one worker thread so the loop never blocks on disk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, create_engine, select

from hub.core.models import HubModel

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
# Queued writes by (table, primary key): the row's snapshot to insert or update, None to delete.
RowKey = tuple[type[HubModel], tuple[object, ...]]
_UNSAVED = object()
_PRELOAD_CHUNK = 500  # primary keys per preloading SELECT, well under SQLite's variable limit


def _enable_wal(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Storage:
    """Owns the hub database; every call runs in a single dedicated thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-db")
        self._engine: Engine | None = None
        self._queued: dict[RowKey, HubModel | None] = {}
        self._queued_done: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("storage is not open")
        return self._engine

    async def async_open(self) -> None:
        await self.async_run(self._open)

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(f"sqlite:///{self.path}")
        event.listen(engine, "connect", _enable_wal)
        HubModel.metadata.create_all(engine)
        self._engine = engine

    async def async_run(self, func: Callable[..., T], *args: object) -> T:
        """Run blocking database work in the storage thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)

    async def async_session(self, func: Callable[[Session], T]) -> T:
        """Run ``func(session)`` in the storage thread and commit."""

        def run() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                result = func(session)
                session.commit()
                return result

        return await self.async_run(run)

    async def async_close(self) -> None:
        if self._writer is not None:
            await asyncio.gather(self._writer, return_exceptions=True)
        if self._engine is not None:
            await self.async_run(self._engine.dispose)
            self._engine = None
        self._executor.shutdown(wait=True)

    async def async_merge(self, row: HubModel) -> None:
        """Insert or update one row (a snapshot, so later edits in the loop do not race).

        Writes made in the same loop turn, or while the previous batch is on disk, share one
        transaction: 200 entities discovered at start are a few commits, not 200. The call
        returns once its batch is committed; a failing batch fails every call in it.
        """
        snapshot = row.model_copy()
        # Shielded: a caller cancelled while waiting must not cancel its batch for the others.
        await asyncio.shield(self._queue_write(_row_key(snapshot), snapshot))

    async def async_delete(self, model: type[HubModel], key: object) -> None:
        key_values = key if isinstance(key, tuple) else (key,)
        await asyncio.shield(self._queue_write((model, key_values), None))

    def _queue_write(self, key: RowKey, row: HubModel | None) -> asyncio.Future[None]:
        self._queued.pop(key, None)  # re-insert: the last write of a key goes last
        self._queued[key] = row
        if self._queued_done is None:
            self._queued_done = asyncio.get_running_loop().create_future()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._async_write_queued(), name="hub-db writer"
            )
        return self._queued_done

    async def _async_write_queued(self) -> None:
        while self._queued:
            batch, done = self._queued, self._queued_done
            self._queued, self._queued_done = {}, None
            try:
                await self.async_run(self._write_batch, batch)
            except BaseException as err:
                if done is not None and not done.done():
                    done.set_exception(err)
                if isinstance(err, asyncio.CancelledError):
                    raise
            else:
                if done is not None and not done.done():
                    done.set_result(None)

    def _write_batch(self, batch: dict[RowKey, HubModel | None]) -> None:
        with Session(self.engine, expire_on_commit=False) as session, session.no_autoflush:
            stored = self._preload(session, batch)
            for row_key, row in batch.items():
                if row is None:
                    if row_key in stored:
                        session.delete(stored[row_key])
                elif row_key in stored:
                    session.merge(row)  # found in the identity map: no query
                else:
                    session.add(row)  # new rows go out together at the flush
            session.commit()

    @staticmethod
    def _preload(session: Session, batch: dict[RowKey, HubModel | None]) -> dict[RowKey, HubModel]:
        """The stored rows of the batch's keys, one SELECT per table (and chunk)."""
        by_model: dict[type[HubModel], list[object]] = {}
        for model, key in batch:
            if len(key) == 1:
                by_model.setdefault(model, []).append(key[0])
        stored: dict[RowKey, HubModel] = {}
        for model, keys in by_model.items():
            (column,) = sa_inspect(model).primary_key
            for start in range(0, len(keys), _PRELOAD_CHUNK):
                chunk = keys[start : start + _PRELOAD_CHUNK]
                for row in session.exec(select(model).where(column.in_(chunk))):
                    stored[_row_key(row)] = row
        for model, key in batch:
            if len(key) > 1 and key[0] is not _UNSAVED:
                found = session.get(model, key)
                if found is not None:
                    stored[(model, key)] = found
        return stored


def _row_key(row: HubModel) -> RowKey:
    model = type(row)
    key = tuple(sa_inspect(model).primary_key_from_instance(row))
    if None in key:  # the database assigns the key: never coalesce it with another row
        return model, (_UNSAVED, id(row))
    return model, key
