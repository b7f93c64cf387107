"""The hub is an installable web app: manifest with icons, service worker, offline page."""

from __future__ import annotations

import json

from aiohttp import web


async def test_hub_manifest_service_worker_and_offline_page(
    aiohttp_client, hub_app: web.Application
):
    client = await aiohttp_client(hub_app)
    # Public without signing in: a phone installs the app from the sign-in page.
    manifest = json.loads(await (await client.get("/static/manifest.webmanifest")).read())
    assert manifest["display"] == "standalone" and manifest["name"] == "Ethos hub"
    for icon in manifest["icons"]:
        body = await (await client.get(icon["src"])).read()
        assert body.startswith(b"\x89PNG")
        width = int.from_bytes(body[16:20], "big")
        assert f"{width}x{width}" == icon["sizes"]
    worker = await client.get("/sw.js")
    assert worker.status == 200
    assert worker.headers["Content-Type"].startswith("application/javascript")
    assert '"/offline"' in await worker.text()
    offline = await client.get("/offline")
    assert offline.status == 200 and "cannot be reached" in await offline.text()
    csp = offline.headers["Content-Security-Policy"]
    assert "manifest-src 'self'" in csp and "worker-src 'self'" in csp
