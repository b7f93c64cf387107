"""The accounts JSON API: same rules as the pages, errors per field, never a 500."""

from __future__ import annotations

from sqlalchemy import func, select

from cloud.accounts.models import User
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD, confirm_with_link, mailed_link


async def _users(client) -> int:
    async with client.app[DB]() as session:
        return await session.scalar(select(func.count()).select_from(User))


async def test_json_signup_confirm_login_and_me(client, smtp_server, unique_id):
    email = f"api-{unique_id}@example.org"
    response = await client.post(
        "/api/v1/account/signup", json={"email": email, "password": PASSWORD}
    )
    assert response.status == 202
    assert (await client.get("/api/v1/me")).status == 401

    response = await client.post(
        "/api/v1/account/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status == 403
    assert (await response.json())["code"] == "not_confirmed"

    await confirm_with_link(client, await mailed_link(smtp_server, email))
    client.session.cookie_jar.clear()
    response = await client.post(
        "/api/v1/account/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status == 200
    me = await (await client.get("/api/v1/me")).json()
    assert me["email"] == email and me["confirmed"] is True

    assert (await client.post("/api/v1/account/logout", json={})).status == 204
    assert (await client.get("/api/v1/me")).status == 401


async def test_malformed_json_gets_422_with_fields(client):
    response = await client.post(
        "/api/v1/account/signup", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 422
    assert "body" in (await response.json())["fields"]

    response = await client.post("/api/v1/account/signup", json={"email": "a@example.org"})
    assert response.status == 422
    assert "password" in (await response.json())["fields"]

    response = await client.post(
        "/api/v1/account/signup", json={"email": "nope", "password": PASSWORD}
    )
    assert response.status == 422
    assert "email" in (await response.json())["fields"]
    assert await _users(client) == 0


async def test_wrong_content_type_and_oversized_body_are_refused(client):
    response = await client.post(
        "/api/v1/account/signup", data="email=x", headers={"Content-Type": "text/plain"}
    )
    assert response.status in (403, 415)
    huge = {"email": "big@example.org", "password": "x" * 200_000}
    response = await client.post("/api/v1/account/signup", json=huge)
    assert response.status == 413
    assert await _users(client) == 0


async def test_json_from_another_origin_is_refused(client):
    response = await client.post(
        "/api/v1/account/signup",
        json={"email": "o@example.org", "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status == 403
    assert await _users(client) == 0
