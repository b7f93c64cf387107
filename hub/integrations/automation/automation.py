"""One automation while it is loaded: its triggers, conditions, runs, mode and traces.

A trigger firing checks the conditions at once (in the loop), then starts a run according
to the mode: ``single`` (a second trigger while running is noted and dropped), ``restart``
(the running one is cancelled), ``queued`` and ``parallel`` (up to ``max``). An automation
started more than ``LOOP_MAX_RUNS`` times within ``LOOP_WINDOW_S`` is throttled for
``LOOP_PAUSE_S`` and flagged: it is triggering itself (or two trigger each other).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from hub.const import STATE_OFF, STATE_ON
from hub.core.entity_registry import slugify
from hub.core.events import Context
from hub.integrations.automation import trace as outcome
from hub.integrations.automation.actions import Run, Script, StepFailed, StopRun
from hub.integrations.automation.conditions import ConditionError, compile_conditions
from hub.integrations.automation.const import (
    DOMAIN,
    EVENT_AUTOMATION_TRIGGERED,
    LOOP_MAX_RUNS,
    LOOP_PAUSE_S,
    LOOP_WINDOW_S,
)
from hub.integrations.automation.env import Env
from hub.integrations.automation.templating import TemplateRenderError
from hub.integrations.automation.trace import Trace, TraceStore
from hub.integrations.automation.triggers import attach_trigger

_LOGGER = logging.getLogger(__name__)


class Automation:
    def __init__(
        self,
        config: dict[str, Any],
        env: Env,
        traces: TraceStore,
        entity_id: str,
        on_loop: Callable[[Automation, str], None],
    ) -> None:
        self.config = config
        self.id: str = config["id"]
        self.alias: str = config["alias"]
        self.description: str = config["description"]
        self.mode: str = config["mode"]
        self.max: int = config["max"]
        self.line: int | None = config.get("line")
        self.entity_id = entity_id
        self.enabled = config["initial_state"]
        self.warnings: list[str] = []
        self.pending: dict[str, str] = {}  # `for:` timers waiting, in words
        self.last_triggered: datetime | None = None
        self.loop_flag: str | None = None
        self._env = env
        self._traces = traces
        self._on_loop = on_loop
        self._conditions = compile_conditions(config["conditions"], env, "")
        self.script = Script(config["actions"], env)
        self._detach: list[Callable[[], None]] = []
        self._runs: dict[asyncio.Task[None], Trace] = {}
        self._queue: deque[tuple[Trace, dict[str, Any], Context]] = deque()
        self._starts: deque[datetime] = deque(maxlen=LOOP_MAX_RUNS)
        self._throttled_until: datetime | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def attach(self) -> None:
        if self._detach or not self.enabled:
            return
        for index, trigger in enumerate(self.config["triggers"]):
            key = f"{self.id}:{index}"
            self._detach.append(attach_trigger(trigger, self._env, self.fire, self.pending, key))
        self.write_state()

    def detach(self) -> None:
        for detach in self._detach:
            detach()
        self._detach.clear()
        self.pending.clear()

    def cancel_runs(self, reason: str) -> None:
        self._queue.clear()
        for task, trace in list(self._runs.items()):
            trace.reason = reason
            task.cancel()

    def running_traces(self) -> list[Trace]:
        return list(self._runs.values())

    @property
    def running(self) -> int:
        return len(self._runs)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            self.attach()
        else:
            self.detach()
            self.cancel_runs("turned off")
        self.write_state()

    def write_state(self) -> None:
        self._env.hub.states.async_set(
            self.entity_id,
            STATE_ON if self.enabled else STATE_OFF,
            {
                "friendly_name": self.alias,
                "id": self.id,
                "mode": self.mode,
                "last_triggered": self.last_triggered.isoformat() if self.last_triggered else None,
            },
        )

    # --- firing --------------------------------------------------------------------------

    def fire(
        self,
        trigger: dict[str, Any],
        description: str,
        context: Context | None,
        *,
        skip_conditions: bool = False,
    ) -> Trace | None:
        """A trigger fired (or "run now"): check conditions, then start as the mode says."""
        if not self.enabled and not skip_conditions:
            return None
        now = self._env.clock.now()
        if self._looping(now):
            return None
        trace = Trace(self.id, description, now, trigger_id=str(trigger.get("id")))
        variables: dict[str, Any] = {
            "trigger": trigger,
            "this": {"entity_id": self.entity_id, "id": self.id, "alias": self.alias},
        }
        try:
            if self.config["variables"]:
                variables.update(self._env.templates.render(self.config["variables"], variables))
            passed = skip_conditions or self._conditions(variables, trace.conditions)
        except (ConditionError, TemplateRenderError) as err:
            return self._finish_early(trace, outcome.ERROR, str(err))
        if not passed:
            failed = trace.conditions[-1] if trace.conditions else None
            reason = f"condition {failed.path} ({failed.kind}): {failed.detail}" if failed else ""
            return self._finish_early(trace, outcome.CONDITION_FAILED, reason)
        return self._start_by_mode(trace, variables)

    def _looping(self, now: datetime) -> bool:
        if self._throttled_until is not None and now < self._throttled_until:
            return True
        self._starts.append(now)
        if len(self._starts) < LOOP_MAX_RUNS:
            return False
        if now - self._starts[0] > timedelta(seconds=LOOP_WINDOW_S):
            return False
        self._throttled_until = now + timedelta(seconds=LOOP_PAUSE_S)
        self._starts.clear()
        self.loop_flag = (
            f"triggered {LOOP_MAX_RUNS} times within {LOOP_WINDOW_S:g} s at "
            f"{now.astimezone(self._env.time_zone):%H:%M:%S}: it looks like a loop, so it was "
            f"paused for {LOOP_PAUSE_S:g} s"
        )
        _LOGGER.warning("Automation %s %s", self.alias, self.loop_flag)
        trace = Trace(self.id, "too many triggers", now)
        self._finish_early(trace, outcome.NOT_STARTED, f"throttled: {self.loop_flag}")
        self._on_loop(self, self.loop_flag)
        return True

    def _finish_early(self, trace: Trace, result: str, reason: str) -> Trace:
        trace.outcome, trace.reason, trace.finished = result, reason, trace.started
        self._traces.add(trace)
        if result == outcome.ERROR:
            _LOGGER.error("Automation %s: %s", self.alias, reason)
        return trace

    def _start_by_mode(self, trace: Trace, variables: dict[str, Any]) -> Trace:
        busy = len(self._runs)
        if self.mode == "single" and busy:
            return self._finish_early(trace, outcome.NOT_STARTED, "already running (mode single)")
        if self.mode == "restart" and busy:
            self.cancel_runs("restarted by a new trigger (mode restart)")
        if self.mode == "parallel" and busy >= self.max:
            return self._finish_early(
                trace, outcome.NOT_STARTED, f"{busy} runs already (max {self.max})"
            )
        if self.mode == "queued" and busy:
            if busy + len(self._queue) >= self.max:
                return self._finish_early(
                    trace, outcome.NOT_STARTED, f"queue full (max {self.max})"
                )
            trace.outcome = "queued"
            self._traces.add(trace)
            self._queue.append((trace, variables, Context()))
            return trace
        self._traces.add(trace)
        self._start(trace, variables, Context())
        return trace

    def _start(self, trace: Trace, variables: dict[str, Any], context: Context) -> None:
        trace.outcome = outcome.RUNNING
        self.last_triggered = trace.started
        run = Run(self.script, trace, variables, context)
        task = self._env.hub.async_create_task(self._async_run(run), f"automation {self.id}")
        self._runs[task] = trace
        task.add_done_callback(self._run_done)
        # Bookkeeping (the event, the automation's own state) waits until the run has
        # started: the first service call does not wait for it.
        asyncio.get_running_loop().call_soon(self._announce_start, trace, context)

    def _announce_start(self, trace: Trace, context: Context) -> None:
        self._env.hub.bus.async_fire(
            EVENT_AUTOMATION_TRIGGERED,
            {"entity_id": self.entity_id, "name": self.alias, "source": trace.trigger},
            context,
        )
        self.write_state()

    async def _async_run(self, run: Run) -> None:
        trace = run.trace
        try:
            await run.async_sequence(self.config["actions"], run.variables)
            trace.outcome = outcome.FINISHED
        except StopRun as stop:
            trace.outcome = outcome.ERROR if stop.error else outcome.STOPPED
            trace.reason = stop.message
        except StepFailed as err:
            trace.outcome, trace.reason = outcome.ERROR, str(err)
            _LOGGER.error("Automation %s: %s", self.alias, err)
        except asyncio.CancelledError:
            trace.outcome = outcome.CANCELLED
            trace.reason = trace.reason or "cancelled"
            raise
        except Exception as err:  # a bug must end this run only, and say so
            trace.outcome, trace.reason = outcome.ERROR, f"unexpected error: {err!r}"
            _LOGGER.exception("Automation %s failed", self.alias)
        finally:
            trace.finished = self._env.clock.now()

    def _run_done(self, task: asyncio.Task[None]) -> None:
        self._runs.pop(task, None)
        if self._queue and self.enabled:
            trace, variables, context = self._queue.popleft()
            self._start(trace, variables, context)

    def run_now(self, user: str | None) -> Trace | None:
        """Run the actions now, skipping triggers and conditions (the page's "Run" button)."""
        who = f" by {user}" if user else ""
        return self.fire(
            {"platform": None, "id": "manual"},
            f"run now{who}",
            Context(user_id=user),
            skip_conditions=True,
        )


def entity_id_for(automation_id: str, taken: set[str]) -> str:
    base = f"{DOMAIN}.{slugify(automation_id) or 'automation'}"
    candidate, number = base, 2
    while candidate in taken:
        candidate, number = f"{base}_{number}", number + 1
    return candidate
