"""The store is an installable web app: manifest with icons, service worker, offline page."""

from __future__ import annotations

import json


async def test_manifest_names_the_app_and_its_icons(client):
    page = await (await client.get("/")).text()
    assert '<link rel="manifest" href="/static/manifest.webmanifest">' in page
    response = await client.get("/static/manifest.webmanifest")
    assert response.status == 200
    manifest = json.loads(await response.read())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    sizes = {icon["sizes"] for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        icon_response = await client.get(icon["src"])
        assert icon_response.status == 200
        body = await icon_response.read()
        if icon["type"] == "image/png":
            assert body.startswith(b"\x89PNG")
            width = int.from_bytes(body[16:20], "big")
            assert f"{width}x{width}" == icon["sizes"]


async def test_service_worker_is_served_from_the_root_and_caches_the_offline_page(client):
    response = await client.get("/sw.js")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/javascript")
    assert response.headers["Cache-Control"] == "no-cache"
    worker = await response.text()
    assert '"/offline"' in worker
    offline = await client.get("/offline")
    assert offline.status == 200
    assert "You are offline" in await offline.text()
