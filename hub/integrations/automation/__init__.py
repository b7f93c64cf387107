"""Automations: triggers, conditions and actions from ``automations.yaml`` (a subset of Home
Assistant's format), with traces, a loop throttle and the hub notifications they create.

Services: ``automation.reload``, ``automation.trigger``, ``automation.turn_on``,
``automation.turn_off`` (``entity_id``), and ``persistent_notification.create`` /
``dismiss`` (shown on the automations page).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub.const import ATTR_ENTITY_ID, EVENT_CORE_CONFIG_UPDATED
from hub.core.errors import ServiceValidationError
from hub.core.events import Event
from hub.core.services import ServiceCall
from hub.integrations.automation.clock import Clock, LoopClock, ManualClock
from hub.integrations.automation.const import (
    DATA_CLOCK,
    DATA_ENGINE,
    DOMAIN,
    SERVICE_RELOAD,
    SERVICE_TRIGGER,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
)
from hub.integrations.automation.engine import AutomationEngine

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.automation.automation import Automation

_LOGGER = logging.getLogger(__name__)

__all__ = ["AutomationEngine", "Clock", "LoopClock", "ManualClock", "automation_engine"]
NOTIFY_DOMAIN = "persistent_notification"


def automation_engine(hub: Hub) -> AutomationEngine | None:
    return hub.data.get(DATA_ENGINE)


async def async_setup(hub: Hub) -> bool:
    engine = AutomationEngine(hub, hub.data.get(DATA_CLOCK))

    def place_changed(_event: Event) -> None:
        hub.async_create_task(engine.async_apply_place(), "automations follow the hub's place")

    hub.bus.async_listen(EVENT_CORE_CONFIG_UPDATED, place_changed)
    hub.data[DATA_ENGINE] = engine

    def targets(call: ServiceCall) -> list[Automation]:
        wanted = call.data.get(ATTR_ENTITY_ID)
        wanted = [wanted] if isinstance(wanted, str) else list(wanted or [])
        by_entity = {a.entity_id: a for a in engine.automations.values()}
        missing = [w for w in wanted if w not in by_entity]
        if missing or not wanted:
            raise ServiceValidationError(f"no automation {', '.join(missing) or '(none given)'}")
        return [by_entity[w] for w in wanted]

    async def async_reload(call: ServiceCall) -> None:
        problem = await engine.async_reload(call.context.user_id or "a service call")
        if problem is not None:
            raise ServiceValidationError(str(problem))

    async def async_trigger(call: ServiceCall) -> None:
        for automation in targets(call):
            automation.fire(
                {"platform": None, "id": "service"},
                "automation.trigger",
                call.context,
                skip_conditions=call.data.get("skip_condition", True) is not False,
            )

    async def async_turn(call: ServiceCall) -> None:
        for automation in targets(call):
            await engine.async_set_enabled(
                automation.id,
                call.service == SERVICE_TURN_ON,
                call.context.user_id or "a service call",
            )

    async def async_notify(call: ServiceCall) -> None:
        message = call.data.get("message")
        if not isinstance(message, str | int | float) or message == "":
            raise ServiceValidationError("persistent_notification.create needs a message")
        engine.notify(
            str(call.data.get("title") or "Automation"),
            str(message),
            str(call.data["notification_id"]) if call.data.get("notification_id") else None,
        )

    async def async_dismiss(call: ServiceCall) -> None:
        engine.dismiss(str(call.data.get("notification_id", "")))

    hub.services.async_register(DOMAIN, SERVICE_RELOAD, async_reload)
    hub.services.async_register(DOMAIN, SERVICE_TRIGGER, async_trigger)
    hub.services.async_register(DOMAIN, SERVICE_TURN_ON, async_turn)
    hub.services.async_register(DOMAIN, SERVICE_TURN_OFF, async_turn)
    hub.services.async_register(NOTIFY_DOMAIN, "create", async_notify)
    hub.services.async_register(NOTIFY_DOMAIN, "dismiss", async_dismiss)
    await engine.async_start()
    return True
