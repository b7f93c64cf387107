"""The presence detector's part of its device page (a device panel registered with the web
UI), its settings form, and the "Lights follow presence" recipe."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web
from markupsafe import Markup

from hub.core.events import Context
from hub.core.hub import Hub
from hub.core.models import DeviceRow
from hub.integrations.automation import automation_engine
from hub.integrations.automation.nodes import Invalid
from hub.integrations.automation.recipes import LightsFollowPresence
from hub.integrations.automation.web import require_editor, who
from hub.integrations.automation.yaml_file import FileProblem
from hub.integrations.ethos_presence import (
    PresenceDetector,
    SettingResult,
    find_detector,
    settings_changer,
)
from hub.integrations.ethos_presence.const import (
    HISTORY_CHOICES,
    HISTORY_HOURS,
    SETTING_LABELS,
    SETTINGS,
)
from hub.web.authz import Action, require
from hub.web.charts import render_history
from hub.web.extensions import WEB_EXTENSIONS_KEY, render_panel
from hub.web.forms import async_read_form
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY
from hub.web.view_models import DeviceView, EntityView, entity_view

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass(frozen=True)
class LightsRecipe:
    """The "Lights follow presence" form: the lights and sensors to pick from, and the
    automation when it was applied to this room."""

    lights: list[EntityView]
    lux_sensors: list[EntityView]
    applied_id: str | None
    editors: frozenset[str]  # members the owner allows to edit automations (and the owner)


@dataclass(frozen=True)
class PresencePanel:
    occupancy: EntityView
    measurements: dict[str, EntityView]
    settings: list[tuple[str, str, EntityView]]  # key, label, entity
    history: Markup
    hours: int
    last_result: SettingResult | None
    recipe: LightsRecipe | None


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
        recipe=_recipe(hub, detector),
    )


async def async_device_panel(
    request: web.Request, device: DeviceRow, view: DeviceView
) -> Markup | None:
    hours = history_hours(request.query.get("presence_hours"))
    presence = await async_presence_panel(request.app[HUB_KEY], device.id, hours)
    if presence is None:
        return None
    return render_panel(request, "_presence.html", device=view, raw=device, presence=presence)


def setup_web(app: web.Application) -> None:
    app[WEB_EXTENSIONS_KEY].device_panels.append(async_device_panel)


def room_name(hub: Hub, device_id: str) -> str:
    device = hub.devices.get(device_id)
    if device is None:
        return device_id
    return device.suggested_area or device.name_by_user or device.name or device_id


def _recipe(hub: Hub, detector: PresenceDetector) -> LightsRecipe | None:
    engine = automation_engine(hub)
    if engine is None:
        return None
    occupancy = detector.entity("occupancy") or ""
    recipe_id = LightsFollowPresence(
        room_name(hub, detector.device_id), occupancy, "light.x"
    ).automation_id
    views = [v for s in hub.states.async_all() if (v := entity_view(hub, s.entity_id))]
    return LightsRecipe(
        lights=[v for v in views if v.domain == "light"],
        lux_sensors=[
            v
            for v in views
            if v.domain == "sensor" and v.attributes.get("device_class") == "illuminance"
        ],
        applied_id=recipe_id if recipe_id in engine.automations else None,
        editors=frozenset(engine.editors),
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


@routes.post("/devices/{device_id}/presence/lights")
async def apply_lights_follow_presence(request: web.Request) -> web.Response:
    """Apply (or update) "Lights follow presence" for the detector's room."""
    hub = request.app[HUB_KEY]
    engine = automation_engine(hub)
    detector = find_detector(hub, request.match_info["device_id"])
    if engine is None or detector is None:
        raise web.HTTPNotFound(text="no such presence detector, or automations are not loaded")
    principal = require_editor(request, engine)
    form = await async_read_form(request)
    light = str(form.get("light", ""))
    if hub.states.get(light) is None or not light.startswith("light."):
        raise web.HTTPBadRequest(text="choose a light")
    try:
        minutes = float(str(form.get("off_after", "5")))
        lux_below = float(str(form["lux_below"])) if form.get("lux_below") else None
    except ValueError as err:
        raise web.HTTPBadRequest(text="minutes and lux must be numbers") from err
    if not 0 < minutes <= 24 * 60:
        raise web.HTTPBadRequest(text="switch off after 0-1440 minutes")
    lux_sensor = str(form.get("lux_sensor", "")) or None
    if lux_sensor is not None and hub.states.get(lux_sensor) is None:
        raise web.HTTPBadRequest(text="no such light sensor")
    recipe = LightsFollowPresence(
        room=room_name(hub, detector.device_id),
        occupancy=detector.entity("occupancy") or "",
        light=light,
        off_after_minutes=minutes,
        target=detector.entity("target"),
        lux_sensor=lux_sensor,
        lux_below=lux_below if lux_sensor else None,
    )
    try:
        saved = await engine.async_apply(recipe.as_automation(), who(principal))
    except (Invalid, FileProblem) as err:
        raise web.HTTPBadRequest(text=str(err)) from err
    raise web.HTTPSeeOther(f"/automations/{saved}")
