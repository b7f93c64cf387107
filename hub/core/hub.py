"""The Hub object: owns the running system and its start/stop lifecycle."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

from ethos.tasks import async_cancel_and_wait
from hub.backup.pending import apply_pending_restore
from hub.const import EVENT_HUB_STARTED, EVENT_HUB_STOP, STORAGE_SUBDIR
from hub.core import loader, upgrade
from hub.core.area_registry import AreaRegistry
from hub.core.callback import callback
from hub.core.config import HubConfig
from hub.core.config_entries import ConfigEntries
from hub.core.core_config import CoreConfig
from hub.core.device_registry import DeviceRegistry
from hub.core.entity_registry import EntityRegistry
from hub.core.entity_table import EntityTable
from hub.core.errors import HubError
from hub.core.events import EventBus
from hub.core.folder_lock import FolderLock
from hub.core.history import Recorder
from hub.core.hub_data import HubData
from hub.core.services import ServiceRegistry
from hub.core.states import StateMachine
from hub.core.storage import DocumentStore, WriteProblems

_LOGGER = logging.getLogger(__name__)
_R = TypeVar("_R")


class HubState(enum.StrEnum):
    NOT_RUNNING = "not_running"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"


class Hub:
    """Creates the bus, states, services and registries; loads integrations."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config
        self.bus = EventBus()
        self.states = StateMachine(self.bus)
        self.services = ServiceRegistry(self.bus)
        # What the hub could not write (a full disk), for the log, /healthz and every page.
        self.write_problems = WriteProblems()
        self.storage = DocumentStore(config.hub_dir / STORAGE_SUBDIR, self.write_problems)
        self._folder_lock = FolderLock(config.hub_dir)
        self.devices = DeviceRegistry(self.bus, self.storage)
        self.entities = EntityRegistry(self.bus, self.storage)
        # Name, place and time zone as the owner set them (the environment's as defaults).
        self.core_config = CoreConfig(config, self.storage, self.bus)
        self.areas = AreaRegistry(self.bus, self.storage, self.devices, self.entities)
        self.entity_table = EntityTable(self)
        self.config_entries = ConfigEntries(self)
        self.recorder = Recorder(self, config.history_retention, config.history_commit_interval)
        self.loaded_integrations: dict[str, loader.Integration] = {}
        self.integration_errors: dict[str, str] = {}
        # Objects an integration offers others outside any entry, under typed ``HubKey``s
        # (an entry's runtime data stays on the entry: ``ConfigEntries.loaded_entry``).
        self.data = HubData()
        self.state = HubState.NOT_RUNNING
        self.started_in: float | None = None
        self._start_began: float | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @callback
    def async_create_task(self, coro: Coroutine[Any, Any, _R], name: str) -> asyncio.Task[_R]:
        """Start a background task the hub cancels on shutdown."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def uptime(self) -> float | None:
        """Seconds since the core began starting (libraries already imported), as Home
        Assistant counts its start-up; None before it starts."""
        return None if self._start_began is None else time.perf_counter() - self._start_began

    async def async_start(self) -> None:
        started = self._start_began = time.perf_counter()
        self.state = HubState.STARTING
        await self.storage.async_run(self._prepare_folder)
        try:
            await upgrade.async_upgrade_legacy_database(self.config.hub_dir, self.storage)
            await self.devices.async_load()
            await self.entities.async_load()
            await self.areas.async_load()
            await self.core_config.async_load()
            await self.config_entries.async_load()
            await self.recorder.async_open()
        except BaseException:
            self._folder_lock.release()  # nothing runs: a corrected folder may be used again
            raise
        self.recorder.async_start()
        await self._async_load_integrations()
        entries = self.config_entries.async_entries()
        await asyncio.gather(*(self.config_entries.async_setup(e.entry_id) for e in entries))
        self.state = HubState.RUNNING
        self.started_in = time.perf_counter() - started
        self.bus.async_fire(EVENT_HUB_STARTED)
        _LOGGER.info("Hub ready in %.3f s", self.started_in)

    def _prepare_folder(self) -> None:
        """Hold the data folder, and put a restore the owner asked for in place first."""
        self._folder_lock.acquire()
        try:
            apply_pending_restore(self.config.hub_dir)
        except BaseException:
            self._folder_lock.release()
            raise

    async def _async_load_integrations(self) -> None:
        def read_all() -> dict[str, loader.Integration]:
            found: dict[str, loader.Integration] = {}
            wanted = self.config.integrations
            for base, package in self.config.integration_sources:
                for domain in loader.available_domains(base):
                    if domain in found or (wanted is not None and domain not in wanted):
                        continue
                    try:
                        found[domain] = loader.read_integration(domain, base, package)
                    except HubError as err:
                        self.integration_errors[domain] = str(err)
                        _LOGGER.error("Integration %s not loaded: %s", domain, err)
            for domain in wanted or ():
                if domain not in found and domain not in self.integration_errors:
                    self.integration_errors[domain] = "no such integration"
            return found

        integrations = await asyncio.get_running_loop().run_in_executor(None, read_all)
        try:
            order = loader.resolve_order(integrations)
        except HubError as err:
            _LOGGER.error("Integrations not loaded: %s", err)
            self.integration_errors["*"] = str(err)
            return
        for domain in order:
            await self._async_load_integration(integrations[domain])

    async def _async_load_integration(self, integration: loader.Integration) -> None:
        domain = integration.domain
        failed = [d for d in integration.manifest.dependencies if d not in self.loaded_integrations]
        if failed:
            self.integration_errors[domain] = f"dependencies not loaded: {', '.join(failed)}"
            return
        missing = integration.missing_requirements()
        if missing:
            self.integration_errors[domain] = f"missing requirements: {', '.join(missing)}"
            _LOGGER.error("Integration %s needs %s", domain, ", ".join(missing))
            return
        try:
            module = integration.get_module()
            self.loaded_integrations[domain] = integration
            setup = getattr(module, "async_setup", None)
            if setup is not None and await setup(self) is False:
                raise HubError("async_setup returned False")
        except Exception as err:
            self.loaded_integrations.pop(domain, None)
            self.integration_errors[domain] = str(err)
            _LOGGER.exception("Integration %s failed to load", domain)

    async def async_stop(self) -> None:
        """Unload every entry, stop tasks, flush history and every pending document."""
        if self.state in (HubState.NOT_RUNNING, HubState.STOPPING):
            return
        self.state = HubState.STOPPING
        self.bus.async_fire(EVENT_HUB_STOP)
        for entry in reversed(self.config_entries.async_entries()):
            await self.config_entries.async_unload(entry.entry_id)
        await async_cancel_and_wait(*self._tasks)
        await self.recorder.async_stop()
        await self.storage.async_close()
        self._folder_lock.release()
        self.state = HubState.NOT_RUNNING
        _LOGGER.info("Hub stopped")
