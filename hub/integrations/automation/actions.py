"""Running an automation's actions, step by step, into its trace.

Each step is recorded with its path (``2.then.1``), timing on the engine's clock, what it
did and the variables it set. A failing step ends the run with the error (or is noted and
passed over with ``continue_on_error: true``); nothing that goes wrong in one run reaches
another.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from hub.const import ATTR_ENTITY_ID
from hub.core.entity_registry import slugify
from hub.core.errors import HubError
from hub.core.events import Context, Event
from hub.integrations.automation.conditions import (
    Check,
    ConditionError,
    compile_conditions,
    duration_of,
    human,
)
from hub.integrations.automation.const import MAX_REPEAT
from hub.integrations.automation.env import Env, run_all
from hub.integrations.automation.schema import is_template
from hub.integrations.automation.templating import TemplateRenderError
from hub.integrations.automation.trace import Step, Trace, brief
from hub.integrations.automation.triggers import attach_trigger

_LOGGER = logging.getLogger(__name__)


class StopRun(Exception):
    """`stop`, a false `condition` step, or a wait that timed out: the run ends here."""

    def __init__(self, message: str, error: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.error = error


class StepFailed(Exception):
    """A step failed and the run ends with its error."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"step {path}: {message}")
        self.path = path
        self.message = message


class Script:
    """An automation's actions with their conditions compiled once."""

    def __init__(self, actions: list[dict[str, Any]], env: Env) -> None:
        self.actions = actions
        self.env = env
        self._checks: dict[int, Check] = {}
        self._compile(actions)

    def _compile(self, actions: list[dict[str, Any]]) -> None:
        for action in actions:
            kind = action["type"]
            path = action["path"]
            if kind == "condition":
                action["_conditions"] = [action["condition"]]
                self._remember(action["_conditions"], f"{path}.")
            elif kind == "choose":
                for i, option in enumerate(action["options"]):
                    self._remember(option["conditions"], f"{path}.choose{i + 1}.")
                    self._compile(option["sequence"])
                self._compile(action["default"])
            elif kind == "if":
                self._remember(action["if"], f"{path}.if.")
                self._compile(action["then"])
                self._compile(action["else"])
            elif kind == "repeat":
                for key in ("while", "until"):
                    if key in action:
                        self._remember(action[key], f"{path}.{key}.")
                self._compile(action["sequence"])
            elif kind == "parallel":
                for branch in action["branches"]:
                    self._compile(branch)
            elif kind == "sequence":
                self._compile(action["sequence"])

    def _remember(self, conditions: list[Mapping[str, Any]], prefix: str) -> None:
        self._checks[id(conditions)] = compile_conditions(conditions, self.env, prefix)

    def check(
        self, conditions: list[dict[str, Any]], variables: dict[str, Any], trace: Trace
    ) -> bool:
        return self._checks[id(conditions)](variables, trace.conditions)


class Run:
    """One run of a script: its variables, its trace, its context."""

    def __init__(
        self, script: Script, trace: Trace, variables: dict[str, Any], context: Context
    ) -> None:
        self.script = script
        self.env = script.env
        self.trace = trace
        self.variables = variables
        self.context = context

    async def async_sequence(
        self, actions: list[dict[str, Any]], variables: dict[str, Any]
    ) -> None:
        for action in actions:
            if not action.get("enabled", True):
                continue
            await self._async_step(action, variables)

    async def _async_step(self, action: dict[str, Any], variables: dict[str, Any]) -> None:
        env = self.env
        step = Step(action["path"], action["type"], action.get("alias"), env.clock.now())
        self.trace.steps.append(step)
        try:
            step.result = await getattr(self, f"_async_{action['type']}")(action, variables, step)
        except (StopRun, asyncio.CancelledError):
            raise
        except StepFailed as err:  # from a nested step, which recorded its own error
            if not action.get("continue_on_error"):
                raise
            step.error = err.message
        except (HubError, TemplateRenderError, ConditionError, ValueError, TypeError) as err:
            message = str(err) or type(err).__name__
            step.error = message
            if not action.get("continue_on_error"):
                raise StepFailed(action["path"], message) from err
            step.result = "failed; continuing (continue_on_error)"
        finally:
            step.seconds = (env.clock.now() - step.started).total_seconds()

    # --- one method per action type; each returns what it did, in words ---------------

    async def _async_service(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        env = self.env
        service = env.templates.render(action["service"], variables)
        if not isinstance(service, str) or "." not in service:
            raise ValueError(f"{service!r} is not a service")
        domain, name = service.split(".", 1)
        if not env.hub.services.has_service(domain, name):
            raise ValueError(f"unknown service {service}")
        data = env.templates.render(action["data"], variables)
        entity_ids = self._targets(action["target"], variables, domain)
        if entity_ids:
            data[ATTR_ENTITY_ID] = entity_ids
        elif any(action["target"].values()):
            raise ValueError("the target names no entity of this service's domain")
        step.variables = {"called": service, "data": brief(data)}
        await env.hub.services.async_call(domain, name, data, self.context)
        return f"called {service}" + (f" on {', '.join(entity_ids)}" if entity_ids else "")

    def _targets(
        self, target: Mapping[str, list[Any]], variables: dict[str, Any], domain: str
    ) -> list[str]:
        hub = self.env.hub
        found: list[str] = []
        for raw in target["entity_id"]:
            rendered = self.env.templates.render(raw, variables) if is_template(raw) else raw
            items = rendered if isinstance(rendered, list) else str(rendered).split(",")
            for item in (str(i).strip().lower() for i in items):
                if item and hub.states.get(item) is None:
                    raise ValueError(f"unknown entity {item}")
                if item:
                    found.append(item)
        devices = [str(d) for d in target["device_id"]]
        areas = {slugify(str(a)) for a in target["area_id"]}
        if areas:
            devices += [
                d.id
                for d in hub.devices.async_all()
                if d.suggested_area and slugify(d.suggested_area) in areas
            ]
        for device_id in devices:
            if hub.devices.get(device_id) is None:
                raise ValueError(f"unknown device {device_id}")
            found += [
                row.entity_id
                for row in hub.entities.entities_for_device(device_id)
                if row.entity_id.startswith(f"{domain}.")
            ]
        return list(dict.fromkeys(found))

    async def _async_delay(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        delay = duration_of(action["delay"], self.env, variables)
        await self.env.clock.async_sleep(delay.total_seconds())
        return f"waited {human(delay)}"

    async def _async_wait(
        self, action: dict[str, Any], variables: dict[str, Any], done: asyncio.Future[Any]
    ) -> tuple[bool, timedelta | None]:
        """Wait for ``done`` or the timeout; True when it came in time."""
        timeout = action.get("timeout")
        limit = None if timeout is None else duration_of(timeout, self.env, variables)
        if done.done():
            return True, limit
        if limit is None:
            await done
            return True, None
        cancel = self.env.clock.call_later(limit.total_seconds(), lambda: _wake(done))
        try:
            return (await done) is not None, limit
        finally:
            cancel()

    async def _async_wait_for_trigger(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def fired(trigger: dict[str, Any], description: str, _context: Context | None) -> None:
            if not done.done():
                done.set_result({"trigger": trigger, "description": description})

        pending: dict[str, str] = {}
        detach = run_all(
            [
                attach_trigger(t, self.env, fired, pending, f"{action['path']}.wait{i}")
                for i, t in enumerate(action["triggers"])
            ]
        )
        try:
            came, limit = await self._async_wait(action, variables, done)
        finally:
            detach()
        result = done.result() if came else None
        variables["wait"] = {"trigger": result["trigger"] if result else None, "remaining": 0}
        came_text = result["description"] if result else ""
        return _waited(action, variables, step, came, limit, came_text, "nothing came")

    async def _async_wait_template(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        source = action["wait_template"]
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def look(_event: Event | None = None) -> None:
            try:
                if not done.done() and self.env.templates.render_bool(source, variables):
                    done.set_result(True)
            except TemplateRenderError as err:
                if not done.done():
                    done.set_exception(err)

        look()
        detach = self.env.states.listen(None, look)
        try:
            came, limit = await self._async_wait(action, variables, done)
        finally:
            detach()
        variables["wait"] = {"completed": came, "remaining": 0}
        return _waited(action, variables, step, came, limit, f"{source} became true", "still false")

    async def _async_choose(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        for index, option in enumerate(action["options"]):
            if self.script.check(option["conditions"], variables, self.trace):
                await self.async_sequence(option["sequence"], variables)
                return f"chose option {index + 1}"
        if action["default"]:
            await self.async_sequence(action["default"], variables)
            return "chose the default"
        return "no option matched"

    async def _async_if(self, action: dict[str, Any], variables: dict[str, Any], step: Step) -> str:
        if self.script.check(action["if"], variables, self.trace):
            await self.async_sequence(action["then"], variables)
            return "conditions true: ran then"
        await self.async_sequence(action["else"], variables)
        return "conditions false: ran else" if action["else"] else "conditions false"

    async def _async_repeat(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        mode = action["mode"]
        items: list[Any] | None = None
        if mode == "count":
            count = self.env.templates.render(action["count"], variables)
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise ValueError(f"repeat count must be a whole number, got {count!r}")
            items = list(range(min(count, MAX_REPEAT + 1)))
        elif mode == "for_each":
            rendered = self.env.templates.render(action["for_each"], variables)
            items = rendered if isinstance(rendered, list) else [rendered]
        turns = 0
        while True:
            if turns >= MAX_REPEAT:
                raise ValueError(f"repeat stopped after {MAX_REPEAT} turns")
            if items is not None and turns >= len(items):
                break
            repeat = {"index": turns + 1, "first": turns == 0}
            if items is not None:
                repeat["last"] = turns == len(items) - 1
                repeat["item"] = items[turns]
            variables["repeat"] = repeat
            if mode == "while" and not self.script.check(action["while"], variables, self.trace):
                break
            await self.async_sequence(action["sequence"], variables)
            turns += 1
            if mode == "until" and self.script.check(action["until"], variables, self.trace):
                break
            await asyncio.sleep(0)  # a tight loop still lets the hub breathe
        variables.pop("repeat", None)
        return f"repeated {turns} time{'s' if turns != 1 else ''}"

    async def _async_parallel(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        try:
            async with asyncio.TaskGroup() as group:
                for branch in action["branches"]:
                    group.create_task(self.async_sequence(branch, dict(variables)))
        except BaseExceptionGroup as group_error:
            raise group_error.exceptions[0] from None
        return f"ran {len(action['branches'])} branches side by side"

    async def _async_sequence(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        await self.async_sequence(action["sequence"], variables)
        return f"ran {len(action['sequence'])} steps"

    async def _async_variables(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        for name, value in action["variables"].items():
            variables[name] = self.env.templates.render(value, variables)
        step.variables = {n: brief(variables[n]) for n in action["variables"]}
        return "set " + ", ".join(action["variables"])

    async def _async_stop(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        raise StopRun(action["message"], error=action["error"])

    async def _async_event(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        data = self.env.templates.render(action["event_data"], variables)
        self.env.hub.bus.async_fire(action["event_type"], data, self.context)
        step.variables = {"event_data": brief(data)}
        return f"fired {action['event_type']}"

    async def _async_condition(
        self, action: dict[str, Any], variables: dict[str, Any], step: Step
    ) -> str:
        if not self.script.check(action["_conditions"], variables, self.trace):
            raise StopRun(f"condition {action['path']} is false")
        return "condition true"


def _waited(
    action: dict[str, Any],
    variables: dict[str, Any],
    step: Step,
    came: bool,
    limit: timedelta | None,
    came_text: str,
    timeout_text: str,
) -> str:
    """How a wait ended, in words; a timeout ends the run unless continue_on_timeout."""
    step.variables = {"wait": brief(variables["wait"])}
    if came:
        return came_text
    waited = human(limit) if limit is not None else "ever"
    if not action["continue_on_timeout"]:
        raise StopRun(f"gave up waiting after {waited} (timeout)")
    return f"{timeout_text} within {waited}; continuing"


def _wake(future: asyncio.Future[None]) -> None:
    """Resolve ``future`` unless something else already has (the wait ended first)."""
    if not future.done():
        future.set_result(None)
