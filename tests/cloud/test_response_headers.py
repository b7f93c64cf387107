"""What every store response says about itself (issue #14, hole 13): personal pages and API
answers are never stored, production pins https (HSTS), `Server` names no versions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from cloud.app import create_app
from cloud.payments.settings import BtcpaySettings
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.support.databases import async_migrate

PERSONAL = [
    "/account",
    "/account/password",
    "/account/login",
    "/cart",
    "/checkout",
    "/orders",
    "/devices",
    "/device",
    "/api/v1/me",
    "/api/v1/orders",
    "/api/v1/me/devices",
    "/api/v1/me/recommendations",
    "/api/v1/cart",
    "/oauth/authorize?client_id=nobody",
    "/no/such/page",  # error pages too
]


def _no_store(response) -> bool:
    directives = response.headers.get("Cache-Control", "").replace(" ", "").split(",")
    return "no-store" in directives


@pytest.fixture
async def signed_in_client(client, smtp_server, unique_id):
    await sign_up_and_confirm(client, smtp_server, f"headers-{unique_id}@example.org", PASSWORD)
    return client


async def test_personal_pages_and_api_answers_are_never_stored(signed_in_client):
    client = signed_in_client
    for path in PERSONAL:
        response = await client.get(path, allow_redirects=False)
        assert response.status < 500, path
        assert _no_store(response), (path, response.status)
    # Signed out: the redirect to the sign-in page, and the JSON refusal.
    client.session.cookie_jar.clear()
    redirect = await client.get("/account", allow_redirects=False)
    assert redirect.status == 303 and _no_store(redirect)
    refusal = await client.get("/api/v1/me")
    assert refusal.status == 401 and _no_store(refusal)


async def test_public_documents_keep_their_own_caching(client):
    discovery = await client.get("/.well-known/openid-configuration")
    assert discovery.headers["Cache-Control"].startswith("public")
    stylesheet = await client.get("/static/ethos.css")
    assert stylesheet.status == 200 and "no-store" not in stylesheet.headers.get(
        "Cache-Control", ""
    )


async def test_server_header_names_no_software_versions(client):
    for path in ("/", "/account", "/api/v1/products", "/no/such/page", "/static/ethos.css"):
        response = await client.get(path, allow_redirects=False)
        assert response.headers["Server"] == "Ethos", path
    response = await client.post("/account/login", data={"email": "x"})  # refused: no CSRF
    assert response.status == 403 and response.headers["Server"] == "Ethos"


async def test_security_headers_are_on_redirects_too(client):
    response = await client.get("/account", allow_redirects=False)
    assert response.status == 303
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in (await client.get("/")).headers


async def test_production_pins_https_with_hsts(aiohttp_client, cloud_settings, database):
    settings = replace(
        cloud_settings,
        env="production",
        base_url="https://shop.example",
        secret_key="k" * 48,
        btcpay=BtcpaySettings(
            url="https://btcpay.invalid",
            api_key="a" * 40,
            store_id="store1",
            webhook_secret="w" * 32,
        ),
    )
    await async_migrate(database.url, database.schema)  # production never migrates by itself
    client = await aiohttp_client(create_app(settings))

    for path in ("/", "/account/login", "/api/v1/products", "/no/such/page"):
        response = await client.get(path, allow_redirects=False)
        hsts = response.headers.get("Strict-Transport-Security", "")
        assert hsts.startswith("max-age=") and int(hsts.split("=")[1].split(";")[0]) >= 31536000
