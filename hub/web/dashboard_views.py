"""Dashboard pages: view a dashboard, and (owner) edit its YAML with line-numbered errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import aiohttp_jinja2
from aiohttp import web

from hub.core.hub import Hub
from hub.dashboards import DashboardError
from hub.web.authz import Action, require
from hub.web.charts import render_history
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.home_views import HOME_DASHBOARD, async_render_home
from hub.web.keys import DASHBOARDS_KEY, HUB_KEY, PRINCIPAL_KEY
from hub.web.view_models import entity_view

routes = web.RouteTableDef()
T = TypeVar("T")
MAX_EDIT_BYTES = 256 * 1024
MAX_SUGGESTIONS = 3  # closest entity ids offered for one a card names and the hub lacks
SUGGESTION_CUTOFF = 0.6  # difflib similarity (0..1) an offered entity id has at least


async def _run(func: Callable[..., T], *args: object) -> T:
    """Small file IO off the loop."""
    return await asyncio.get_running_loop().run_in_executor(None, func, *args)


def closest_entity_ids(hub: Hub, entity_id: str) -> list[str]:
    """Entity ids that look like one a card names but the hub does not have."""
    import difflib  # only when a card names an unknown entity

    known = {s.entity_id for s in hub.states.async_all()} | {
        r.entity_id for r in hub.entities.async_all()
    }
    return difflib.get_close_matches(
        entity_id, sorted(known), n=MAX_SUGGESTIONS, cutoff=SUGGESTION_CUTOFF
    )


async def _async_names(request: web.Request) -> list[str]:
    """The YAML dashboards, and the generated home page under its name."""
    names = await _run(request.app[DASHBOARDS_KEY].names)
    return sorted({*names, HOME_DASHBOARD})


@routes.get("/dashboards")
async def dashboard_list(request: web.Request) -> web.Response:
    names = await _async_names(request)
    return aiohttp_jinja2.render_template(
        "dashboards.html", request, page_context(request, names=names)
    )


@routes.get("/dashboards/{name}")
async def dashboard_page(request: web.Request) -> web.Response:
    store, hub = request.app[DASHBOARDS_KEY], request.app[HUB_KEY]
    name = request.match_info["name"]
    try:
        dashboard = await _run(store.load, name)
    except DashboardError as err:
        response = aiohttp_jinja2.render_template(
            "dashboard_invalid.html",
            request,
            page_context(request, name=name, problems=err.problems),
        )
        return response
    if dashboard is None and name == HOME_DASHBOARD:
        return await async_render_home(request)  # nobody wrote their own: generated
    if dashboard is None:
        raise web.HTTPNotFound(text="no such dashboard")
    end = datetime.now(UTC)
    cards = []
    for card in dashboard.cards:
        entities = [entity_view(hub, e) for e in card.entities]
        charts = []
        if card.type == "history-graph":
            start = end - timedelta(hours=card.options["hours"])
            for entity_id, view in zip(card.entities, entities, strict=True):
                points = await hub.recorder.async_history(entity_id, start, end)
                charts.append(
                    render_history(
                        points,
                        start,
                        end,
                        title=view.name if view else entity_id,
                        unit=view.unit if view else None,
                    )
                )
        pairs = list(zip(card.entities, entities, strict=True))
        cards.append(
            {
                "card": card,
                "entities": pairs,
                "charts": charts,
                "suggestions": {e: closest_entity_ids(hub, e) for e, v in pairs if v is None},
            }
        )
    names = await _async_names(request)
    return aiohttp_jinja2.render_template(
        "dashboard.html",
        request,
        page_context(request, dashboard=dashboard, cards=cards, names=names),
    )


@routes.get("/dashboards/{name}/edit")
async def dashboard_edit(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_DASHBOARD)
    store = request.app[DASHBOARDS_KEY]
    name = request.match_info["name"]
    path = await _run(store.path_for, name)
    source = await _run(path.read_text) if path else "title: New dashboard\ncards: []\n"
    return aiohttp_jinja2.render_template(
        "dashboard_edit.html", request, page_context(request, name=name, source=source, problems=[])
    )


@routes.post("/dashboards/{name}/edit")
async def dashboard_save(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.EDIT_DASHBOARD)
    store = request.app[DASHBOARDS_KEY]
    name = request.match_info["name"]
    source = str((await async_read_form(request)).get("source", ""))
    try:
        if len(source.encode()) > MAX_EDIT_BYTES:
            raise DashboardError([f"{name}.yaml:1: larger than {MAX_EDIT_BYTES} bytes"])
        await _run(store.save, name, source)
    except DashboardError as err:
        response = aiohttp_jinja2.render_template(
            "dashboard_edit.html",
            request,
            page_context(request, name=name, source=source, problems=err.problems),
        )
        response.set_status(400)
        return response
    raise web.HTTPSeeOther(f"/dashboards/{name}")
