"""The owner's devices: the `/devices` page and `GET /api/v1/me/devices`."""

from __future__ import annotations

import hashlib
import json

import aiohttp_jinja2
from aiohttp import web
from pydantic import BaseModel, Field

from cloud.accounts.sessions import require_user
from cloud.api.openapi import ApiRoutes
from cloud.authz import authorize
from cloud.catalog.keys import CATALOG
from cloud.inventory.service import OwnedUnit, owned_units
from cloud.web.keys import DB, SETTINGS


class DeviceOut(BaseModel):
    serial: str
    sku: str
    name: str
    claim_secret: str = Field(description="32 bytes, hex: the device proves it holds this key")
    order_id: str


async def _devices(request: web.Request, user_id: int) -> list[tuple[OwnedUnit, str]]:
    catalog = request.app[CATALOG]
    async with request.app[DB]() as session:
        units = await owned_units(session, request.app[SETTINGS].secret_key, user_id)
    return [
        (unit, product.name if (product := catalog.get(unit.sku)) else unit.sku) for unit in units
    ]


async def devices_page(request: web.Request) -> web.Response:
    await require_user(request)
    principal = await authorize(request, "devices.read")
    devices = await _devices(request, principal.user_id)
    response = aiohttp_jinja2.render_template(
        "inventory/devices.html", request, {"devices": devices}
    )
    response.headers["Cache-Control"] = "no-store"  # the page shows claim secrets
    return response


ROUTES = ApiRoutes()


@ROUTES.route(
    "GET",
    "/api/v1/me/devices",
    summary="Devices I own, with their claim secrets",
    tag="devices",
    response=[DeviceOut],
    auth=True,
    action="devices.read",
    errors=(403,),
)
async def my_devices(request: web.Request) -> web.Response:
    principal = await authorize(request, "devices.read")
    devices = [
        DeviceOut(
            serial=unit.serial,
            sku=unit.sku,
            name=name,
            claim_secret=unit.claim_secret.hex(),
            order_id=unit.order_id,
        ).model_dump()
        for unit, name in await _devices(request, principal.user_id)
    ]
    # An ETag over the exact body lets a hub poll cheaply: 304 while nothing changed.
    body = json.dumps(devices, separators=(",", ":"))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    headers = {"Cache-Control": "no-store", "ETag": f'"{etag}"'}
    if any(tag.value == etag for tag in request.if_none_match or ()):
        return web.Response(status=304, headers=headers)
    return web.Response(text=body, content_type="application/json", headers=headers)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/devices", devices_page, name="devices")
