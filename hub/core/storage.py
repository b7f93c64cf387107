"""SQLite storage: one engine, used from one worker thread so the loop never blocks on disk."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

from hub.core.models import HubModel

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


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
        if self._engine is not None:
            await self.async_run(self._engine.dispose)
            self._engine = None
        self._executor.shutdown(wait=True)

    async def async_merge(self, row: HubModel) -> None:
        """Insert or update one row (a snapshot, so later edits in the loop do not race)."""
        snapshot = row.model_copy()
        await self.async_session(lambda session: session.merge(snapshot))

    async def async_delete(self, model: type[HubModel], key: object) -> None:
        def delete(session: Session) -> None:
            row = session.get(model, key)
            if row is not None:
                session.delete(row)

        await self.async_session(delete)
