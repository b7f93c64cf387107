"""The hub as an installable web app: service worker at the root and the offline page."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent / "static"
mimetypes.add_type("application/manifest+json", ".webmanifest")

routes = web.RouteTableDef()


@routes.get("/sw.js")
async def async_service_worker(_request: web.Request) -> web.FileResponse:
    # Served from "/" so its scope is the whole hub; never cached, so updates apply.
    return web.FileResponse(
        STATIC_DIR / "sw.js",
        headers={"Content-Type": "application/javascript", "Cache-Control": "no-cache"},
    )


@routes.get("/offline")
async def async_offline_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("offline.html", request, {})
