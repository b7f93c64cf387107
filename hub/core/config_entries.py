"""Config entries: one configured instance of an integration, with its setup lifecycle,
kept in the ``core.config_entries`` JSON document."""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from hub.const import SETUP_RETRY_FIRST_DELAY_S, SETUP_RETRY_MAX_DELAY_S
from hub.core.callback import callback
from hub.core.errors import ConfigEntryNotReady
from hub.core.models import utcnow

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)
STORAGE_KEY = "core.config_entries"
STORAGE_VERSION = 1
_DataT = TypeVar("_DataT")


class EntryState(enum.StrEnum):
    NOT_LOADED = "not_loaded"
    LOADED = "loaded"
    SETUP_RETRY = "setup_retry"
    SETUP_ERROR = "setup_error"
    FAILED_UNLOAD = "failed_unload"
    UNLOAD_IN_PROGRESS = "unload_in_progress"


@dataclass
class ConfigEntry(Generic[_DataT]):
    """One configured instance of an integration; ``runtime_data`` is what its setup made
    (typed per integration: ``MqttConfigEntry = ConfigEntry[MqttRuntime]``)."""

    entry_id: str
    domain: str
    title: str
    data: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    state: EntryState = EntryState.NOT_LOADED
    reason: str | None = None
    # Set by the integration's setup, offered to others while the entry is loaded.
    runtime_data: _DataT = None  # type: ignore[assignment]
    retries: int = 0
    _on_unload: list[Callable[[], object]] = field(default_factory=list, repr=False)
    _retry_handle: asyncio.TimerHandle | None = field(default=None, repr=False)

    @callback
    def async_on_unload(self, func: Callable[[], object]) -> None:
        """Register teardown to run on unload, so an integration cannot forget it."""
        self._on_unload.append(func)


def retry_delay(attempt: int, first: float, ceiling: float) -> float:
    return min(first * 2.0 ** max(attempt - 1, 0), ceiling)


class ConfigEntries:
    """Persists entries and runs integration setup/unload, retrying with backoff.

    Every change is written at once (the link's rotated refresh token must not be lost)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._document = hub.storage.document(STORAGE_KEY, STORAGE_VERSION)
        self._entries: dict[str, ConfigEntry[Any]] = {}
        self.retry_first_delay = SETUP_RETRY_FIRST_DELAY_S
        self.retry_max_delay = SETUP_RETRY_MAX_DELAY_S

    async def async_load(self) -> None:
        data = await self._document.async_load() or {}
        for raw in data.get("entries", []):
            entry: ConfigEntry[Any] = ConfigEntry(
                raw["entry_id"],
                raw["domain"],
                raw["title"],
                dict(raw.get("data") or {}),
                dict(raw.get("options") or {}),
                datetime.fromisoformat(raw["created_at"]),
            )
            self._entries[entry.entry_id] = entry

    def _snapshot(self) -> dict[str, object]:
        return {
            "entries": [
                {
                    "entry_id": entry.entry_id,
                    "domain": entry.domain,
                    "title": entry.title,
                    "data": entry.data,
                    "options": entry.options,
                    "created_at": entry.created_at.isoformat(),
                }
                for entry in self._entries.values()
            ]
        }

    async def _async_save(self) -> None:
        await self._document.async_save(self._snapshot)

    def get(self, entry_id: str) -> ConfigEntry[Any] | None:
        return self._entries.get(entry_id)

    def loaded_entry(self, domain: str) -> ConfigEntry[Any] | None:
        """The domain's first loaded entry (its runtime data in use), or None."""
        for entry in self._entries.values():
            if entry.domain == domain and entry.state is EntryState.LOADED:
                return entry
        return None

    @callback
    def async_entries(self, domain: str | None = None) -> list[ConfigEntry[Any]]:
        return [e for e in self._entries.values() if domain is None or e.domain == domain]

    async def async_add(
        self, domain: str, title: str, data: dict[str, Any], *, setup: bool = True
    ) -> ConfigEntry[Any]:
        entry: ConfigEntry[Any] = ConfigEntry(uuid.uuid4().hex, domain, title, dict(data))
        self._entries[entry.entry_id] = entry
        await self._async_save()
        if setup and domain in self._hub.loaded_integrations:
            await self.async_setup(entry.entry_id)
        return entry

    async def async_update_data(self, entry: ConfigEntry[Any], data: dict[str, Any]) -> None:
        if data == entry.data:
            return  # nothing changed: nothing written (the hub writes nothing when idle)
        entry.data = dict(data)
        await self._async_save()

    async def async_setup(self, entry_id: str) -> bool:
        """Set the entry up; on ConfigEntryNotReady schedule a retry with backoff."""
        entry = self._entries[entry_id]
        if entry.state is EntryState.LOADED:
            return True
        integration = self._hub.loaded_integrations.get(entry.domain)
        if integration is None:
            entry.state, entry.reason = EntryState.SETUP_ERROR, "integration not loaded"
            return False
        module = integration.get_module()
        try:
            ok = await module.async_setup_entry(self._hub, entry)
        except ConfigEntryNotReady as err:
            await self._async_run_unload_callbacks(entry)
            entry.retries += 1
            delay = retry_delay(entry.retries, self.retry_first_delay, self.retry_max_delay)
            entry.state, entry.reason = EntryState.SETUP_RETRY, str(err) or "not ready"
            _LOGGER.warning(
                "Setup of %s (%s) not ready: %s; retrying in %.0f s",
                entry.domain,
                entry.title,
                entry.reason,
                delay,
            )
            loop = asyncio.get_running_loop()
            entry._retry_handle = loop.call_later(delay, self._schedule_retry, entry_id)
            return False
        except Exception as err:
            await self._async_run_unload_callbacks(entry)
            _LOGGER.exception("Setup of %s (%s) failed", entry.domain, entry.title)
            entry.state, entry.reason = EntryState.SETUP_ERROR, str(err)
            return False
        if ok is False:
            entry.state, entry.reason = EntryState.SETUP_ERROR, "setup returned False"
            return False
        entry.state, entry.reason, entry.retries = EntryState.LOADED, None, 0
        return True

    def _schedule_retry(self, entry_id: str) -> None:
        entry = self._entries.get(entry_id)
        if entry is None or entry.state is not EntryState.SETUP_RETRY:
            return
        entry._retry_handle = None
        self._hub.async_create_task(self.async_setup(entry_id), f"retry setup {entry.domain}")

    async def async_unload(self, entry_id: str) -> bool:
        entry = self._entries[entry_id]
        if entry._retry_handle is not None:
            entry._retry_handle.cancel()
            entry._retry_handle = None
        if entry.state is not EntryState.LOADED:
            entry.state = EntryState.NOT_LOADED
            return True
        module = self._hub.loaded_integrations[entry.domain].get_module()
        entry.state = EntryState.UNLOAD_IN_PROGRESS  # no longer offered (loaded_entry)
        try:
            ok = await module.async_unload_entry(self._hub, entry)
        except Exception:
            _LOGGER.exception("Unload of %s (%s) failed", entry.domain, entry.title)
            ok = False
        await self._async_run_unload_callbacks(entry)
        entry.state = EntryState.NOT_LOADED if ok else EntryState.FAILED_UNLOAD
        entry.runtime_data = None
        return bool(ok)

    async def _async_run_unload_callbacks(self, entry: ConfigEntry[Any]) -> None:
        while entry._on_unload:
            func = entry._on_unload.pop()
            try:
                result = func()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                _LOGGER.exception("Unload callback of %s failed", entry.domain)

    async def async_remove(self, entry_id: str) -> None:
        await self.async_unload(entry_id)
        self._entries.pop(entry_id, None)
        await self._async_save()
