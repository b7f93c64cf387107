"""HTML pages and the small JSON API the pages' script uses."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hub.const import ATTR_ENTITY_ID
from hub.core.errors import ServiceValidationError
from hub.core.events import Context
from hub.core.hub import Hub
from hub.core.models import DeviceRow
from hub.web.authz import Action, require
from hub.web.charts import render_history
from hub.web.context import page_context
from hub.web.extensions import async_device_panels, async_devices_panels
from hub.web.forms import async_read_form, async_read_json
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY
from hub.web.redirects import local_path
from hub.web.view_models import all_entities, device_view, entity_view

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_HISTORY_HOURS = 240

# Which service a page form may ask for, per domain, and which field carries its value.
COMMANDS: dict[str, dict[str, str | None]] = {
    "switch": {"turn_on": None, "turn_off": None, "toggle": None},
    "light": {"turn_on": "brightness", "turn_off": None, "toggle": None},
    "button": {"press": None},
    "number": {"set_value": "value"},
    "select": {"select_option": "option"},
}


@routes.get("/devices")
async def devices_page(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    devices = [device_view(hub, d) for d in hub.devices.async_all()]
    panels = await async_devices_panels(request)
    return aiohttp_jinja2.render_template(
        "devices.html", request, page_context(request, devices=devices, panels=panels)
    )


def requested_device(request: web.Request) -> DeviceRow:
    """The device the URL's ``{device_id}`` names; 404 when there is none."""
    device = request.app[HUB_KEY].devices.get(request.match_info["device_id"])
    if device is None:
        raise web.HTTPNotFound(text="no such device")
    return device


@routes.get("/devices/{device_id}")
async def device_page(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    device = requested_device(request)
    view = device_view(hub, device)
    end = datetime.now(UTC)
    start = end - timedelta(hours=24)
    charts = {}
    for entity in view.entities:
        if entity.domain in ("sensor", "binary_sensor", "switch", "light"):
            points = await hub.recorder.async_history(entity.entity_id, start, end)
            charts[entity.entity_id] = render_history(
                points, start, end, title=f"{entity.name}, last 24 hours", unit=entity.unit
            )
    panels = await async_device_panels(request, device, view)
    return aiohttp_jinja2.render_template(
        "device.html",
        request,
        page_context(
            request,
            device=view,
            raw=device,
            charts=charts,
            panels=panels,
            areas=hub.areas.async_all(),
        ),
    )


@routes.post("/devices/{device_id}/rename")
async def rename_device(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.RENAME)
    hub = request.app[HUB_KEY]
    device_id = requested_device(request).id
    name = str((await async_read_form(request)).get("name", "")).strip()
    if len(name) > 100:
        raise ServiceValidationError("a name has at most 100 characters")
    await hub.devices.async_update(device_id, name_by_user=name or None)
    raise web.HTTPSeeOther(f"/devices/{device_id}")


@routes.post("/devices/{device_id}/remove")
async def remove_device(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.REMOVE_DEVICE)
    hub = request.app[HUB_KEY]
    device_id = requested_device(request).id
    await hub.devices.async_remove(device_id)
    raise web.HTTPSeeOther("/devices")


@routes.get("/entities")
async def entities_page(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    domain = request.query.get("domain")
    entities = [e for e in all_entities(hub) if domain in (None, "", e.domain)]
    domains = sorted({e.domain for e in all_entities(hub)})
    return aiohttp_jinja2.render_template(
        "entities.html",
        request,
        page_context(request, entities=entities, domains=domains, domain=domain),
    )


def _hours(request: web.Request) -> float:
    try:
        hours = float(request.query.get("hours", "24"))
    except ValueError as err:
        raise ServiceValidationError("hours must be a number") from err
    if not 0 < hours <= MAX_HISTORY_HOURS:
        raise ServiceValidationError(f"hours must be between 0 and {MAX_HISTORY_HOURS}")
    return hours


@routes.get("/entities/{entity_id}")
async def entity_page(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    view = entity_view(hub, request.match_info["entity_id"])
    if view is None:
        raise web.HTTPNotFound(text="no such entity")
    hours = _hours(request)
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    points = await hub.recorder.async_history(view.entity_id, start, end)
    row = hub.entities.get(view.entity_id)
    chart = render_history(
        points, start, end, title=f"{view.name}, last {hours:g} hours", unit=view.unit
    )
    return aiohttp_jinja2.render_template(
        "entity.html",
        request,
        page_context(
            request,
            entity=view,
            chart=chart,
            hours=hours,
            points=points[-50:],
            row=row,
            room=hub.areas.area_of_entity(row) if row else None,
            areas=hub.areas.async_all(),
        ),
    )


async def _call_command(request: web.Request, entity_id: str, service: str, value: object) -> None:
    principal = require(request[PRINCIPAL_KEY], Action.CONTROL)
    hub = request.app[HUB_KEY]
    domain = entity_id.split(".", 1)[0]
    allowed = COMMANDS.get(domain, {})
    if service not in allowed:
        raise ServiceValidationError(f"{domain} entities do not take {service!r}")
    data: dict[str, Any] = {ATTR_ENTITY_ID: entity_id}
    field = allowed[service]
    if field is not None and value not in (None, ""):
        data[field] = value
    await hub.services.async_call(domain, service, data, Context(user_id=principal.subject))


@routes.post("/entities/{entity_id}/command")
async def entity_command(request: web.Request) -> web.Response:
    form = await async_read_form(request)
    entity_id = request.match_info["entity_id"]
    await _call_command(request, entity_id, str(form.get("service", "")), form.get("value"))
    raise web.HTTPSeeOther(local_path(form.get("next"), f"/entities/{entity_id}"))


# JSON API ---------------------------------------------------------------------
def _state_json(hub: Hub, entity_id: str) -> dict[str, Any] | None:
    state = hub.states.get(entity_id)
    if state is None:
        return None
    return {
        "entity_id": entity_id,
        "state": state.state,
        "attributes": dict(state.attributes),
        "last_changed": state.last_changed.isoformat(),
        "last_updated": state.last_updated.isoformat(),
    }


@routes.get("/api/states")
async def api_states(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    return web.json_response([_state_json(hub, s.entity_id) for s in hub.states.async_all()])


@routes.get("/api/states/{entity_id}")
async def api_state(request: web.Request) -> web.Response:
    found = _state_json(request.app[HUB_KEY], request.match_info["entity_id"])
    if found is None:
        return web.json_response({"error": "no such entity"}, status=404)
    return web.json_response(found)


@routes.post("/api/entities/{entity_id}/command")
async def api_command(request: web.Request) -> web.Response:
    body = await async_read_json(request)
    entity_id = request.match_info["entity_id"]
    await _call_command(request, entity_id, str(body.get("service", "")), body.get("value"))
    return web.json_response(_state_json(request.app[HUB_KEY], entity_id) or {})
