"""The automation engine: loads ``automations.yaml``, runs what is valid, lists what is not,
reloads without a restart, and applies the UI's edits (recorded with who made them).

A malformed file keeps the automations already running (the problem is shown with its
line); an invalid automation is listed as invalid while the others run.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from hub.const import EVENT_HUB_STARTED, EVENT_HUB_STOP
from hub.core.errors import HubError
from hub.integrations.automation import trace as outcome
from hub.integrations.automation.clock import Clock, LoopClock
from hub.integrations.automation.const import (
    AUTOMATIONS_FILE,
    EDIT_LOG_FILE,
    EVENT_AUTOMATIONS_RELOADED,
    EVENT_NOTIFICATION,
    MAX_AUTOMATIONS,
    NOTIFICATIONS_KEPT,
    STATE_DIR,
    TRACES_FILE,
)
from hub.integrations.automation.edit_log import EditLog
from hub.integrations.automation.env import Env
from hub.integrations.automation.files import read_json, write_json
from hub.integrations.automation.nodes import Invalid, plain
from hub.integrations.automation.sun import Sun
from hub.integrations.automation.templating import AutomationTemplates
from hub.integrations.automation.trace import Trace, TraceStore
from hub.integrations.automation.validation import semantic_problem, warnings_for
from hub.integrations.automation.yaml_file import (
    AutomationsFile,
    FileProblem,
    as_block,
    dump,
    item_offset,
    item_text,
    merge_into,
    parse,
    splice,
    to_node,
)

if TYPE_CHECKING:
    from ruamel.yaml.comments import CommentedMap

    from hub.core.hub import Hub
    from hub.integrations.automation.automation import Automation

_LOGGER = logging.getLogger(__name__)
ENABLED_FILE = "enabled.json"
EDITORS_FILE = "editors.json"  # members (store subjects) the owner allows to edit
TRACE_SAVE_INTERVAL_S = 30.0
UNNAMED_PREFIX = "automation_"  # the id of an automation written without one: its place


@dataclass(frozen=True)
class InvalidAutomation:
    id: str | None
    alias: str
    line: int | None
    message: str
    file: str

    @property
    def where(self) -> str:
        return f"{self.file}, line {self.line}" if self.line else self.file


@dataclass(frozen=True)
class Notification:
    id: str
    title: str
    message: str
    at: datetime


def hub_time_zone(name: str | None) -> tzinfo:
    if not name:
        local = datetime.now().astimezone().tzinfo
        if local is not None:
            return local
        name = "UTC"
    from zoneinfo import ZoneInfo  # a named zone only: most hubs run in the system's

    try:
        return ZoneInfo(name)
    except (ValueError, KeyError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise HubError(f"ETHOS_HUB_TIME_ZONE {name!r} is not a known time zone") from err


class AutomationEngine:
    def __init__(self, hub: Hub, clock: Clock | None = None) -> None:
        self.hub = hub
        place = hub.core_config  # set in the set-up flow; the environment's as defaults
        time_zone = hub_time_zone(place.time_zone)
        clock = clock or LoopClock()
        self.env = Env(
            hub,
            clock,
            AutomationTemplates(hub, clock.now, time_zone),
            Sun(place.latitude, place.longitude, time_zone),
            time_zone,
        )
        self.file = AutomationsFile(hub.config.hub_dir / AUTOMATIONS_FILE)
        state_dir = hub.config.hub_dir / STATE_DIR
        self._traces_path = state_dir / TRACES_FILE
        self._enabled_path = state_dir / ENABLED_FILE
        self._editors_path = state_dir / EDITORS_FILE
        self.editors: set[str] = set()
        self.traces = TraceStore()
        self.edits = EditLog(state_dir / EDIT_LOG_FILE)
        self.automations: dict[str, Automation] = {}
        self.invalid: list[InvalidAutomation] = []
        self.file_problem: FileProblem | None = None
        self.notifications: deque[Notification] = deque(maxlen=NOTIFICATIONS_KEPT)
        self._enabled: dict[str, bool] = {}
        self._lock = asyncio.Lock()
        self._unsubscribe: list[Any] = []

    # --- start and stop ------------------------------------------------------------------

    async def async_start(self) -> None:
        def read_state() -> tuple[Any, Any]:
            self.edits.load()
            editors = read_json(self._editors_path, [])
            self.editors = {str(e) for e in editors} if isinstance(editors, list) else set()
            return read_json(self._traces_path, {}), read_json(self._enabled_path, {})

        traces, enabled = await self._async_executor(read_state)
        self.traces.load_json(traces)
        if isinstance(enabled, dict):
            self._enabled = {str(k): bool(v) for k, v in enabled.items()}
        self._unsubscribe += [
            self.env.states.attach(self.hub),
            self.hub.bus.async_listen(EVENT_HUB_STARTED, lambda _e: self._lifecycle("start")),
            self.hub.bus.async_listen(EVENT_HUB_STOP, lambda _e: self.stop()),
        ]
        await self.async_reload(None)
        self.hub.async_create_task(self._async_save_traces_now_and_then(), "automation traces")

    def _lifecycle(self, event: str) -> None:
        for callback in list(self.env.lifecycle.get(event, ())):
            callback()

    def stop(self) -> None:
        """At hub stop (in the loop, briefly blocking): `shutdown` triggers fire, pending
        `for:` timers and running runs are cancelled and said so in their traces, and the
        traces are written."""
        shutdown = list(self.env.lifecycle.get("shutdown", ()))
        for automation in self.automations.values():
            self._note_cancelled(automation, "the hub stopped")
        for remove in self._unsubscribe:
            remove()
        self._unsubscribe.clear()
        for callback in shutdown:  # their runs get the time the hub takes to stop
            callback()
        try:
            write_json(self._traces_path, self.traces.as_json())
        except OSError as err:
            _LOGGER.error("Could not keep the automation traces: %s", err)

    def _note_cancelled(self, automation: Automation, why: str) -> None:
        """Detach and stop; pending `for:` timers and runs are cancelled in their traces."""
        pending = list(automation.pending.values())
        automation.detach()
        if pending:
            trace = Trace(automation.id, "waiting `for:` timers", self.env.clock.now())
            trace.outcome, trace.finished = outcome.CANCELLED, trace.started
            trace.reason = f"{why}: pending for: timers were cancelled"
            trace.notes = [f"cancelled: {item}" for item in pending]
            self.traces.add(trace)
        for task_trace in automation.running_traces():
            task_trace.outcome = outcome.CANCELLED
            task_trace.reason = why
            task_trace.finished = self.env.clock.now()
        automation.cancel_runs(why)

    async def _async_save_traces_now_and_then(self) -> None:
        # What is on disk already (as loaded): a hub where nothing runs writes nothing.
        saved = self.traces.as_json()
        while True:
            await self.env.clock.async_sleep(TRACE_SAVE_INTERVAL_S)
            snapshot = self.traces.as_json()
            if snapshot != saved:
                await self._async_executor(write_json, self._traces_path, snapshot)
                saved = snapshot

    async def _async_executor(self, function: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, function, *args)

    # --- loading -------------------------------------------------------------------------

    async def async_apply_place(self) -> FileProblem | None:
        """The owner changed the hub's place or time zone: sun and time triggers follow
        (the automations are set up again with them)."""
        place = self.hub.core_config
        time_zone = hub_time_zone(place.time_zone)
        self.env.time_zone = time_zone
        self.env.sun = Sun(place.latitude, place.longitude, time_zone)
        self.env.templates = AutomationTemplates(self.hub, self.env.clock.now, time_zone)
        return await self.async_reload("the hub's settings")

    async def async_reload(self, who: str | None) -> FileProblem | None:
        """Read the file again and replace every automation; a file that cannot be read
        leaves the running ones alone and is reported."""
        async with self._lock:
            return await self._async_reload_locked(who)

    async def _async_reload_locked(self, who: str | None) -> FileProblem | None:
        try:
            items = await self._async_executor(self.file.load_items)
        except FileProblem as problem:
            self.file_problem = problem
            _LOGGER.error("Automations not reloaded: %s", problem)
            return problem
        self.file_problem = None
        valid, invalid = self._check_all(items)
        for automation in self.automations.values():
            self._note_cancelled(automation, "automations were reloaded")
            if automation.id not in valid:
                self.hub.states.async_remove(automation.entity_id)
        self.automations, self.invalid = {}, invalid
        taken: set[str] = set()
        for automation_id, config in valid.items():
            # Triggers, conditions and actions load with the first automation written.
            from hub.integrations.automation.automation import Automation, entity_id_for

            entity_id = entity_id_for(automation_id, taken)
            taken.add(entity_id)
            automation = Automation(config, self.env, self.traces, entity_id, self._on_loop)
            automation.enabled = self._enabled.get(automation_id, config["initial_state"])
            self.automations[automation_id] = automation
            automation.attach()
            automation.write_state()
        for refused in invalid:
            _LOGGER.error(
                "Automation %r is invalid (%s): %s", refused.alias, refused.where, refused.message
            )
        if who is not None:
            self._record(who, "reloaded", None, None)
        self.hub.bus.async_fire(EVENT_AUTOMATIONS_RELOADED, {"count": len(self.automations)})
        _LOGGER.info("%d automations loaded, %d invalid", len(self.automations), len(invalid))
        return None

    def _check_all(
        self, items: list[Any]
    ) -> tuple[dict[str, dict[str, Any]], list[InvalidAutomation]]:
        valid: dict[str, dict[str, Any]] = {}
        invalid: list[InvalidAutomation] = []
        for index, item in enumerate(items[:MAX_AUTOMATIONS]):
            alias = (
                str(item.get("alias") or item.get("id") or f"Automation {index + 1}")
                if isinstance(item, dict)
                else f"Automation {index + 1}"
            )
            raw_id = item.get("id") if isinstance(item, dict) else None
            try:
                config = self.check_one(item, index)
                if config["id"] in valid:
                    raise Invalid(f"the id {config['id']!r} is used twice", config["line"])
            except Invalid as err:
                invalid.append(
                    InvalidAutomation(
                        None if raw_id is None else str(raw_id),
                        alias,
                        err.line,
                        err.message,
                        self.file.name,
                    )
                )
                continue
            valid[config["id"]] = config
        if len(items) > MAX_AUTOMATIONS:
            invalid.append(
                InvalidAutomation(
                    None, "…", None, f"only the first {MAX_AUTOMATIONS} are loaded", self.file.name
                )
            )
        return valid, invalid

    def check_one(self, item: Any, index: int = 0) -> dict[str, Any]:
        """The automation normalised, or Invalid (with its line) saying what is wrong."""
        from hub.integrations.automation.schema import normalise_automation  # the checker

        config = normalise_automation(item, index)
        if config["id"] is None:  # editing it in the UI gives it this id
            config["id"] = f"{UNNAMED_PREFIX}{index + 1}"
        problem = semantic_problem(config, self.env)
        if problem is not None:
            raise problem
        return config

    def warnings(self, automation: Automation) -> list[str]:
        """Entities and services it names that the hub does not know (now)."""
        return warnings_for(automation.config, self.hub)

    def _on_loop(self, automation: Automation, message: str) -> None:
        self.notify(f"Automation “{automation.alias}” throttled", message, f"loop-{automation.id}")

    # --- notifications (persistent_notification.create) -----------------------------------

    def notify(self, title: str, message: str, notification_id: str | None = None) -> Notification:
        note = Notification(
            notification_id or uuid.uuid4().hex[:12],
            title[:200],
            message[:2000],
            self.env.clock.now(),
        )
        self.dismiss(note.id)
        self.notifications.append(note)
        self.hub.bus.async_fire(EVENT_NOTIFICATION, {"id": note.id, "title": note.title})
        return note

    def dismiss(self, notification_id: str) -> None:
        for note in [n for n in self.notifications if n.id == notification_id]:
            self.notifications.remove(note)

    # --- editing (the UI) -----------------------------------------------------------------

    def _record(self, who: str, action: str, automation_id: str | None, alias: str | None) -> None:
        self.edits.add(self.env.clock.now(), who, action, automation_id, alias)
        _LOGGER.info("Automations: %s %s %s", who, action, alias or automation_id or "")
        self.hub.async_create_task(
            self._async_executor(self.edits.save, self.edits.snapshot()), "automation edit log"
        )

    async def async_set_enabled(self, automation_id: str, enabled: bool, who: str) -> None:
        automation = self.automations[automation_id]
        automation.set_enabled(enabled)
        self._enabled[automation_id] = enabled
        await self._async_executor(write_json, self._enabled_path, dict(self._enabled))
        self._record(who, "turned on" if enabled else "turned off", automation_id, automation.alias)

    async def async_set_editor(self, subject: str, name: str, allowed: bool, who: str) -> None:
        """Let a member edit automations (or not); recorded like any edit."""
        if allowed:
            self.editors.add(subject)
        else:
            self.editors.discard(subject)
        await self._async_executor(write_json, self._editors_path, sorted(self.editors))
        self._record(
            who, f"{'allowed' if allowed else 'no longer allowed'} {name} to edit", None, None
        )

    def run_now(self, automation_id: str, who: str) -> Trace | None:
        automation = self.automations[automation_id]
        self._record(who, "ran", automation_id, automation.alias)
        return automation.run_now(who)

    def block_yaml(self, automation_id: str) -> str | None:
        """The automation's block as written in the file, comments included (blocking)."""
        try:
            text, items = self.file.load()
        except FileProblem:
            return None
        index = _position(items, automation_id)
        if index is None:
            return None
        return item_text(text, items, index) or dump(items[index])

    def new_id(self) -> str:
        return str(int(self.env.clock.now().timestamp() * 1000))

    async def async_save(
        self, automation_id: str | None, new: dict[str, Any] | str, who: str
    ) -> str:
        """Create (``automation_id`` None) or replace one automation: ``new`` is plain data
        (a form) or a YAML text (the YAML view). Raises Invalid or FileProblem, with the line
        in that YAML, and leaves the file untouched."""
        async with self._lock:
            text, items = await self._async_executor(self.file.load)
            position = None if automation_id is None else _position(items, automation_id)
            if automation_id is not None and position is None:
                raise Invalid(f"no automation with id {automation_id!r} in {self.file.name}")
            offset = item_offset(text, items)
            if isinstance(new, str):
                node, block = self._typed_block(new, automation_id, offset)
            else:
                from ruamel.yaml.comments import CommentedMap  # loaded by the file's load

                node = CommentedMap(new) if position is None else items[position]
                if position is not None:
                    merge_into(node, new)
                node.setdefault("id", automation_id or self.new_id())
                node = node if position is not None else _fresh(node)
                block = None
            target = str(node["id"])
            for index, item in enumerate(items):
                if index != position and isinstance(item, dict) and str(item.get("id")) == target:
                    raise Invalid(f"another automation already has the id {target!r}")
            self.check_one(node)
            if block is None:
                block = dump([node], offset)
            new_text = self._spliced(text, items, position, block, node)
            await self._async_executor(self.file.write_text, new_text)
            await self._async_reload_locked(None)
            action = "created" if position is None else "updated"
            self._record(who, action, target, str(node.get("alias") or target))
            return target

    def _typed_block(self, typed: str, automation_id: str | None, offset: int) -> tuple[Any, str]:
        """The YAML view's text as a node (checked) and as the block to write, as typed."""
        from ruamel.yaml.comments import CommentedMap  # loaded by parse

        document = parse(typed, "the YAML")
        if isinstance(document, list) and len(document) == 1:
            document = document[0]
            typed = item_text(typed, parse(typed, "the YAML"), 0) or dump(document)
        if not isinstance(document, CommentedMap):
            raise Invalid("the YAML must be one automation (a mapping)", 1)
        if document.get("id") is None:
            document.insert(0, "id", automation_id or self.new_id())
            typed = f"id: '{document['id']}'\n" + typed
        return document, as_block(typed, offset)

    @staticmethod
    def _spliced(text: str, items: Any, position: int | None, block: str, node: Any) -> str:
        try:
            return splice(text, items, position, block)
        except ValueError:  # not a block list: the whole file is written anew
            if position is None:
                items.append(node)
            else:
                items[position] = node
            return dump(items) if len(items) else "[]\n"

    async def async_apply(self, config: dict[str, Any], who: str) -> str:
        """Save a ready-made automation under its own id: created once, updated after."""
        automation_id = str(config["id"])
        _text, items = await self._async_executor(self.file.load)
        existing = automation_id if _position(items, automation_id) is not None else None
        return await self.async_save(existing, config, who)

    async def async_delete(self, automation_id: str, who: str) -> None:
        async with self._lock:
            text, items = await self._async_executor(self.file.load)
            position = _position(items, automation_id)
            if position is None:
                raise Invalid(f"no automation with id {automation_id!r}")
            automation = self.automations.get(automation_id)
            try:
                new_text = splice(text, items, position, None)
            except ValueError:
                del items[position]
                new_text = dump(items) if len(items) else "[]\n"
            await self._async_executor(self.file.write_text, new_text)
            await self._async_reload_locked(None)
            self._record(who, "deleted", automation_id, automation.alias if automation else None)


def _position(items: Any, automation_id: str) -> int | None:
    """Where the automation is in the file: by its id, or for one written without an id,
    by the ``automation_<n>`` it was given when loaded."""
    for index, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("id")) == automation_id:
            return index
    number = automation_id.removeprefix(UNNAMED_PREFIX)
    if automation_id.startswith(UNNAMED_PREFIX) and number.isdigit():
        index = int(number) - 1
        if 0 <= index < len(items) and isinstance(items[index], dict) and "id" not in items[index]:
            return index
    return None


def _fresh(value: dict[str, Any]) -> CommentedMap:
    return to_node(plain(value))
