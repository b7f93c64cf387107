"""The presence detector's part of its device page, and its settings form."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from markupsafe import Markup

from hub.core.events import Context
from hub.core.hub import Hub
from hub.integrations.ethos_presence import SettingResult, find_detector, settings_changer
from hub.integrations.ethos_presence.const import (
    HISTORY_CHOICES,
    HISTORY_HOURS,
    SETTING_LABELS,
    SETTINGS,
)
from hub.web.authz import Action, require
from hub.web.charts import render_history
from hub.web.forms import async_read_form
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY
from hub.web.view_models import EntityView, entity_view

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass(frozen=True)
class PresencePanel:
    occupancy: EntityView
    measurements: dict[str, EntityView]
    settings: list[tuple[str, str, EntityView]]  # key, label, entity
    history: Markup
    hours: int
    last_result: SettingResult | None


def history_hours(value: str | None) -> int:
    """The timeline's window: one of the offered choices, else the default."""
    try:
        hours = int(value or HISTORY_HOURS)
    except ValueError:
        return HISTORY_HOURS
    return hours if hours in HISTORY_CHOICES else HISTORY_HOURS


async def async_presence_panel(
    hub: Hub, device_id: str, hours: int = HISTORY_HOURS
) -> PresencePanel | None:
    if settings_changer(hub) is None:
        return None  # the ethos_presence integration is not loaded
    detector = find_detector(hub, device_id)
    if detector is None:
        return None
    views = {role: v for role, eid in detector.roles.items() if (v := entity_view(hub, eid))}
    if "occupancy" not in views:
        return None
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    points = await hub.recorder.async_history(views["occupancy"].entity_id, start, end)
    unit = "hour" if hours == 1 else "hours"
    history = render_history(points, start, end, title=f"Presence, last {hours} {unit}")
    changer = settings_changer(hub)
    return PresencePanel(
        occupancy=views["occupancy"],
        measurements=views,
        settings=[(key, SETTING_LABELS[key], views[key]) for key in SETTINGS if key in views],
        history=history,
        hours=hours,
        last_result=changer.last_result.get(device_id) if changer else None,
    )


@routes.post("/devices/{device_id}/presence/settings")
async def change_setting(request: web.Request) -> web.Response:
    """Send one setting; answer once the device confirmed it (or did not, in time)."""
    principal = require(request[PRINCIPAL_KEY], Action.CONTROL)
    hub = request.app[HUB_KEY]
    device_id = request.match_info["device_id"]
    detector = find_detector(hub, device_id)
    changer = settings_changer(hub)
    if detector is None or changer is None:
        raise web.HTTPNotFound(text="no such presence detector")
    form = await async_read_form(request)
    await changer.async_set(
        detector,
        str(form.get("key", "")),
        str(form.get("value", "")),
        Context(user_id=principal.subject),
    )
    raise web.HTTPSeeOther(f"/devices/{device_id}#presence-settings")
