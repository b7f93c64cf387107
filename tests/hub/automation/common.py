"""Helpers of the automation tests: a recording service, the automations file, waiting."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.core.hub import Hub
from hub.core.services import ServiceCall
from hub.integrations.automation import AutomationEngine, ManualClock
from hub.integrations.automation.const import AUTOMATIONS_FILE
from hub.integrations.automation.trace import Trace


def write_automations(hub_dir: Path, yaml: str) -> Path:
    hub_dir.mkdir(parents=True, exist_ok=True)
    path = hub_dir / AUTOMATIONS_FILE
    path.write_text(yaml, encoding="utf-8")
    return path


class Calls:
    """``test.record`` and ``light.turn_on``/``turn_off`` calls, as received; lights also
    get their state set, like a device that obeys."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.received: list[ServiceCall] = []
        hub.services.async_register("test", "record", self._async_record)
        hub.services.async_register("test", "fail", self._async_fail)
        for service in ("turn_on", "turn_off"):
            hub.services.async_register("light", service, self._async_light)

    async def _async_record(self, call: ServiceCall) -> None:
        self.received.append(call)

    async def _async_fail(self, call: ServiceCall) -> None:
        self.received.append(call)
        raise ValueError("the device said no")

    async def _async_light(self, call: ServiceCall) -> None:
        self.received.append(call)
        ids = call.data.get("entity_id")
        for entity_id in [ids] if isinstance(ids, str) else ids or []:
            self.hub.states.async_set(entity_id, "on" if call.service == "turn_on" else "off")

    def data(self, service: str = "record") -> list[dict[str, Any]]:
        return [dict(c.data) for c in self.received if c.service == service]

    def __len__(self) -> int:
        return len(self.received)


@dataclass
class HomeUnderTest:
    hub: Hub
    engine: AutomationEngine
    clock: ManualClock
    calls: Calls

    def set(self, entity_id: str, state: str, **attributes: Any) -> None:
        self.hub.states.async_set(entity_id, state, attributes or None)

    async def advance(self, seconds: float) -> None:
        await self.clock.async_advance(seconds)

    def traces(self, automation_id: str) -> list[Trace]:
        return self.engine.traces.of(automation_id)

    def last_trace(self, automation_id: str) -> Trace:
        traces = self.traces(automation_id)
        assert traces, f"no trace for {automation_id}"
        return traces[-1]
