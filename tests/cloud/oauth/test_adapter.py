"""The aiohttp adapter for Authlib: what Authlib reads, what aiohttp sends back, and the
bridge that lets Authlib's worker thread use the event loop's database session."""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from sqlalchemy import text

from cloud import db
from cloud.oauth.adapter import (
    LoopBridge,
    OAuthResponse,
    async_form_request,
    bridge,
    in_bridge_context,
)
from tests.support.oidc_client import OidcClient


async def _captured(aiohttp_client, method: str, path: str, **kwargs):
    seen = {}

    async def handler(request: web.Request) -> web.Response:
        seen["request"] = await async_form_request(request, "https://shop.example", True)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_route("*", "/oauth/token", handler)
    client = await aiohttp_client(app)
    response = await client.request(method, path, **kwargs)
    assert response.status == 200
    return seen["request"]


async def test_query_and_form_parameters_reach_authlib_with_repeats_kept(aiohttp_client):
    captured = await _captured(
        aiohttp_client,
        "POST",
        "/oauth/token?scope=openid&scope=email",
        data={"grant_type": "refresh_token", "refresh_token": "abc"},
        headers={"Authorization": "Basic Y2xpZW50OnNlY3JldA=="},
    )
    assert captured.method == "POST"
    assert captured.uri == "https://shop.example/oauth/token?scope=openid&scope=email"
    assert captured.form["refresh_token"] == "abc" and "scope" not in captured.form
    assert captured.args.getall("scope") == ["openid", "email"]
    assert captured.payload.grant_type == "refresh_token"
    assert captured.payload.scope == "openid"  # the first value, as Authlib expects
    assert captured.payload.datalist["scope"] == ["openid", "email"]
    assert captured.headers["authorization"] == "Basic Y2xpZW50OnNlY3JldA=="


async def test_a_post_without_a_body_has_no_form(aiohttp_client):
    captured = await _captured(aiohttp_client, "POST", "/oauth/token?grant_type=x")
    assert captured.form == {} and captured.payload.grant_type == "x"


async def _posted(aiohttp_client, body: bytes, content_type: str):
    async def handler(request: web.Request) -> web.Response:
        await async_form_request(request, "https://shop.example", True)
        return web.Response(text="unexpected")

    app = web.Application()
    app.router.add_post("/oauth/token", handler)
    client = await aiohttp_client(app)
    return await client.post("/oauth/token", data=body, headers={"Content-Type": content_type})


async def test_an_undecodable_form_is_an_oauth_error_not_a_crash(aiohttp_client):
    response = await _posted(aiohttp_client, b"\xff\xfe=\xff", "application/x-www-form-urlencoded")
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


async def test_a_body_that_is_not_a_form_is_an_oauth_error(aiohttp_client):
    response = await _posted(aiohttp_client, b'{"grant_type": "x"}', "application/json")
    assert response.status == 400
    assert (await response.json())["error"] == "invalid_request"


def test_responses_convert_to_aiohttp():
    token = OAuthResponse(200, {"access_token": "t"}, [("Pragma", "no-cache")]).to_aiohttp()
    assert token.status == 200 and json.loads(token.text) == {"access_token": "t"}
    assert token.headers["Content-Type"].startswith("application/json")
    assert token.headers["Cache-Control"] == "no-store" and token.headers["Pragma"] == "no-cache"
    redirect = OAuthResponse(302, "", [("Location", "https://hub.lan/cb?code=c")])
    assert redirect.location == "https://hub.lan/cb?code=c"
    assert redirect.to_aiohttp().headers["Location"] == "https://hub.lan/cb?code=c"


async def test_the_bridge_runs_database_work_on_the_loop_for_a_worker_thread(tmp_path):
    engine = db.create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bridge.db'}")
    sessions = db.session_factory(engine)
    loop = asyncio.get_running_loop()
    loop_thread = threading.get_ident()
    seen: dict[str, object] = {}

    async def query(session):
        seen["thread"] = threading.get_ident()
        return await session.scalar(text("select 40 + 2"))

    async def later(session):
        seen["deferred"] = await session.scalar(text("select 1"))

    try:
        async with sessions() as session:
            current = LoopBridge(loop, session)

            def in_worker() -> int:
                result = bridge().in_request(query)
                bridge().defer(later)
                return result

            with ThreadPoolExecutor(1) as pool:
                answer = await loop.run_in_executor(pool, in_bridge_context, current, in_worker)
        await current.async_run_deferred(sessions)
    finally:
        await engine.dispose()
    assert answer == 42
    assert seen["thread"] == loop_thread  # the database work ran on the loop
    assert seen["deferred"] == 1


async def test_repeated_parameters_at_authorize_are_refused(browser, signed_in, mobile: OidcClient):
    request = await mobile.authorization_request("openid")
    response = await browser.http.get(request.url + "&client_id=" + mobile.client_id)
    assert response.status_code == 400 and "location" not in response.headers
