"""Rooms page (create, rename, order, remove) and putting devices and entities in rooms."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from hub.core.errors import ServiceValidationError
from hub.web.authz import Action, require
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY
from hub.web.redirects import local_path

routes = web.RouteTableDef()
NEW_ROOM = "__new__"  # the room picker's choice "a new room named …"


@routes.get("/rooms")
async def rooms_page(request: web.Request) -> web.Response:
    hub = request.app[HUB_KEY]
    devices = hub.devices.async_all()
    counts = {a.id: sum(d.area_id == a.id for d in devices) for a in hub.areas.async_all()}
    return aiohttp_jinja2.render_template(
        "rooms.html",
        request,
        page_context(request, areas=hub.areas.async_all(), counts=counts, devices=devices),
    )


@routes.post("/rooms")
async def create_room(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    form = await async_read_form(request)
    await request.app[HUB_KEY].areas.async_create(form.get("name"))
    raise web.HTTPSeeOther(local_path(form.get("next"), "/rooms"))


@routes.post("/rooms/{area_id}/rename")
async def rename_room(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    form = await async_read_form(request)
    await request.app[HUB_KEY].areas.async_rename(request.match_info["area_id"], form.get("name"))
    raise web.HTTPSeeOther("/rooms")


@routes.post("/rooms/{area_id}/move")
async def move_room(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    form = await async_read_form(request)
    steps = {"up": -1, "down": 1}.get(str(form.get("direction")))
    if steps is None:
        raise ServiceValidationError("a room moves up or down")
    await request.app[HUB_KEY].areas.async_move(request.match_info["area_id"], steps)
    raise web.HTTPSeeOther("/rooms")


@routes.post("/rooms/{area_id}/remove")
async def remove_room(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    await request.app[HUB_KEY].areas.async_remove(request.match_info["area_id"])
    raise web.HTTPSeeOther("/rooms")


async def _async_chosen_area(request: web.Request) -> str | None:
    """The room a picker form names: an existing one, a new one by name, or none ("")."""
    form = await async_read_form(request)
    areas = request.app[HUB_KEY].areas
    choice = str(form.get("area_id", ""))
    if choice == NEW_ROOM:
        return (await areas.async_get_or_create(form.get("new_name"))).id
    return choice or None


@routes.post("/devices/{device_id}/room")
async def assign_device(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    device_id = request.match_info["device_id"]
    area_id = await _async_chosen_area(request)
    await request.app[HUB_KEY].areas.async_assign_device(device_id, area_id)
    form = await async_read_form(request)
    raise web.HTTPSeeOther(local_path(form.get("next"), f"/devices/{device_id}"))


@routes.post("/entities/{entity_id}/room")
async def assign_entity(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_ROOMS)
    entity_id = request.match_info["entity_id"]
    area_id = await _async_chosen_area(request)
    await request.app[HUB_KEY].areas.async_assign_entity(entity_id, area_id)
    raise web.HTTPSeeOther(f"/entities/{entity_id}")
