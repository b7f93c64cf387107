"""The installable web app: service worker at the site root and the offline page."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
mimetypes.add_type("application/manifest+json", ".webmanifest")


async def service_worker(_request: web.Request) -> web.FileResponse:
    # Served from "/" so its scope covers the whole store; never cached, so updates apply.
    return web.FileResponse(
        STATIC_DIR / "sw.js",
        headers={"Content-Type": "application/javascript", "Cache-Control": "no-cache"},
    )


async def offline_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("offline.html", request, {})


def setup(app: web.Application) -> None:
    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/offline", offline_page)
