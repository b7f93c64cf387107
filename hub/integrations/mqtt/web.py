"""The broker page: whether the MQTT broker enforces device identity, the Ethos devices'
accounts, and the third-party device credentials the owner makes and removes; and the
client's counters as JSON (``/api/mqtt``).

A new credential's password is in the answer to the form that made it, once: the hub keeps
no copy (the broker stores only its hash) and never logs it. Owner only.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hub.core.hub import Hub
from hub.integrations.ethos_cloud import cloud_runtime
from hub.integrations.mqtt.broker_identity import BrokerClient, BrokerIdentity, NewCredential
from hub.integrations.mqtt.dynsec import DynsecError, DynsecTimeout
from hub.integrations.mqtt.runtime import mqtt_runtime
from hub.web.authz import Action, require
from hub.web.context import page_context
from hub.web.keys import HUB_KEY, PRINCIPAL_KEY

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_FIELD = 200


def _identity(hub: Hub) -> BrokerIdentity | None:
    runtime = mqtt_runtime(hub)
    return runtime.identity if runtime is not None else None


def _owned_serials(hub: Hub) -> set[str]:
    runtime = cloud_runtime(hub)
    return set(runtime.sync.owned) if runtime is not None else set()


async def _render(
    request: web.Request,
    status: int = 200,
    created: NewCredential | None = None,
    problem: str | None = None,
    form: dict[str, str] | None = None,
) -> web.Response:
    identity = _identity(request.app[HUB_KEY])
    clients: list[BrokerClient] = []
    listing_problem = None
    if identity is not None and identity.enforced:
        try:
            clients = await identity.async_list_clients()
        except DynsecError as err:
            listing_problem = str(err)
    values: dict[str, Any] = {
        "identity": identity,
        "devices": [c for c in clients if c.kind == "ethos"],
        "third_party": [c for c in clients if c.kind == "third_party"],
        "listing_problem": listing_problem,
        "created": created,
        "problem": problem,
        "form": form or {},
    }
    response = aiohttp_jinja2.render_template(
        "broker.html", request, page_context(request, **values)
    )
    response.set_status(status)
    response.headers["Cache-Control"] = "no-store"  # the page may carry a new password
    return response


@routes.get("/broker")
async def broker_page(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BROKER)
    return await _render(request)


def _field(form: Any, name: str) -> str:
    value = form.get(name, "")
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


@routes.post("/broker/credentials")
async def create_credential(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BROKER)
    hub = request.app[HUB_KEY]
    posted = await request.post()
    form = {k: _field(posted, k) for k in ("name", "base", "node_id", "label")}
    identity = _identity(hub)
    if identity is None or not identity.enforced:
        return await _render(
            request, 409, problem="the broker does not enforce identity here", form=form
        )
    try:
        created = await identity.async_create_third_party(
            form["name"],
            form["base"],
            form["node_id"] or form["name"],
            form["label"],
            _owned_serials(hub),
        )
    except DynsecTimeout as err:
        return await _render(request, 503, problem=str(err), form=form)
    except DynsecError as err:
        return await _render(request, 400, problem=err.message, form=form)
    _LOGGER.info("Created broker credential %s for topic base %s", created.username, created.base)
    return await _render(request, 201, created=created)


@routes.post("/broker/credentials/{username}/delete")
async def delete_credential(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.MANAGE_BROKER)
    identity = _identity(request.app[HUB_KEY])
    username = request.match_info["username"]
    if identity is None or not identity.enforced:
        raise web.HTTPConflict(text="the broker does not enforce identity here")
    try:
        clients = await identity.async_list_clients()
        if username not in {c.username for c in clients if c.kind == "third_party"}:
            raise web.HTTPNotFound(text="no such third-party credential")
        await identity.async_remove_third_party(username)
    except DynsecError as err:
        raise web.HTTPServiceUnavailable(text=str(err)) from err
    _LOGGER.info("Removed broker credential %s", username)
    raise web.HTTPSeeOther("/broker")


# The pages' script reads the client's counters (JSON).
@routes.get("/api/mqtt")
async def api_mqtt_status(request: web.Request) -> web.Response:
    runtime = mqtt_runtime(request.app[HUB_KEY])
    if runtime is None:
        return web.json_response({"connected": False})
    client, discovery = runtime.client, runtime.discovery
    return web.json_response(
        {
            "connected": client.connected.is_set(),
            "received": client.received,
            "oversized": client.oversized,
            "discovery_dropped": discovery.dropped,
            "discovery_ignored": discovery.ignored,
            "recorder_dropped": request.app[HUB_KEY].recorder.dropped,
        }
    )
