"""The pages' template context: gathered for pages, skipped for handlers that answer none."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from cloud.app import create_app
from cloud.config import CloudSettings
from cloud.oauth.const import JWKS_PATH, TOKEN_PATH, USERINFO_PATH
from cloud.payments.const import WEBHOOK_PATH
from cloud.web.middleware import answers_no_page, marked_no_page, page_context_middleware


async def test_pages_get_the_context_and_json_handlers_skip_gathering_it(aiohttp_client) -> None:
    gathered: list[str] = []

    async def gather(request: web.Request) -> dict[str, object]:
        gathered.append(request.path)
        return {"user": "ada@example.org"}

    async def page(request: web.Request) -> web.Response:
        return aiohttp_jinja2.render_template("page.html", request, {})

    @answers_no_page
    async def token(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application(middlewares=[page_context_middleware])
    aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({"page.html": "signed in as {{ user }}"}))
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [gather]
    app.router.add_get("/page", page)
    app.router.add_post("/token", token)
    client = await aiohttp_client(app)

    assert await (await client.get("/page")).text() == "signed in as ada@example.org"
    assert (await (await client.post("/token")).json()) == {"ok": True}
    assert gathered == ["/page"]


def test_the_json_endpoints_hubs_and_btcpay_call_are_marked(cloud_settings: CloudSettings) -> None:
    app = create_app(cloud_settings)
    marked = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if marked_no_page(route.handler)
    }
    api_routes = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith("/api/")
    }
    assert api_routes and api_routes <= marked
    for route in [("POST", TOKEN_PATH), ("GET", USERINFO_PATH), ("GET", JWKS_PATH)]:
        assert route in marked
    assert ("POST", WEBHOOK_PATH) in marked
    # Pages are not: the sign-in page shows who is signed in.
    assert ("GET", "/account/login") not in marked
