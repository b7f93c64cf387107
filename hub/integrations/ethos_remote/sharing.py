"""What the owner shares remotely: the master switch (off by default) and the shared entity
ids (none by default), kept in the hub document ``ethos_remote.sharing``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from hub.core.callback import callback
from hub.core.states import valid_entity_id
from hub.integrations.ethos_remote.const import SHARING_STORAGE_KEY, SHARING_STORAGE_VERSION

if TYPE_CHECKING:
    from hub.core.storage import DocumentStore

_LOGGER = logging.getLogger(__name__)
MAX_SHARED_ENTITIES = 1000


class Sharing:
    """In memory for every message; written at once when the owner changes it."""

    def __init__(self, storage: DocumentStore) -> None:
        self._document = storage.document(SHARING_STORAGE_KEY, SHARING_STORAGE_VERSION)
        self.enabled = False
        self.entity_ids: frozenset[str] = frozenset()
        # Whether the store was last told "on" (so it must be told when it goes off).
        self.announced = False
        self._listeners: list[Callable[[], None]] = []

    async def async_load(self) -> None:
        data: dict[str, Any] = await self._document.async_load() or {}
        self.enabled = data.get("enabled") is True
        shared = data.get("entity_ids")
        self.entity_ids = frozenset(
            e for e in (shared if isinstance(shared, list) else []) if isinstance(e, str)
        )
        self.announced = data.get("announced") is True

    def _snapshot(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "entity_ids": sorted(self.entity_ids),
            "announced": self.announced,
        }

    def is_shared(self, entity_id: str) -> bool:
        return self.enabled and entity_id in self.entity_ids

    @callback
    def async_listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every change; returns the unsubscribe callable."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_update(
        self, *, enabled: bool | None = None, entity_ids: Iterable[str] | None = None
    ) -> None:
        """Change the switch and/or the shared set; ids that cannot be entity ids are
        ignored (a form may send anything)."""
        if enabled is not None:
            self.enabled = enabled
        if entity_ids is not None:
            wanted = sorted({e for e in entity_ids if valid_entity_id(e)})
            self.entity_ids = frozenset(wanted[:MAX_SHARED_ENTITIES])
        await self._document.async_save(self._snapshot)
        _LOGGER.info(
            "Remote access %s, %s entities shared",
            "on" if self.enabled else "off",
            len(self.entity_ids),
        )
        for listener in list(self._listeners):
            listener()

    async def async_set_announced(self, announced: bool) -> None:
        if announced != self.announced:
            self.announced = announced
            await self._document.async_save(self._snapshot)
