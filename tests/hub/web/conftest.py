"""A running hub web app (real hub, real broker) and signed-in sessions for its tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hub.core.hub import Hub
from hub.web.app import create_app
from hub.web.auth.const import SESSION_COOKIE
from hub.web.auth.users import Principal
from hub.web.keys import HUB_KEY, USERS_KEY
from tests.hub.common import make_config

DASHBOARDS = Path(__file__).resolve().parents[3] / "dashboards"


@dataclass
class SignedIn:
    client: TestClient
    principal: Principal

    @property
    def hub(self) -> Hub:
        return self.client.server.app[HUB_KEY]  # type: ignore[union-attr]

    def form(self, **fields: str) -> dict[str, str]:
        return {"csrf": self.principal.csrf_token, **fields}


async def sign_in(client: TestClient, subject: str, name: str) -> Principal:
    """Sign a person in as the OIDC callback would, without the store (tested separately)."""
    users = client.server.app[USERS_KEY]  # type: ignore[union-attr]
    user = await users.async_upsert_from_claims(subject, f"{subject}@example.test", name)
    session = await users.async_create_session(user)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: session.token})
    return session.principal


@pytest.fixture
def hub_app(tmp_path: Path, mqtt_broker_url: str, prefix: str) -> web.Application:
    config = make_config(
        tmp_path,
        integrations=("mqtt",),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        dashboards_dir=DASHBOARDS,
        cloud_url="http://127.0.0.1:9",  # nothing listens: the store is "unreachable"
    )
    return create_app(config)


@pytest.fixture
def prefix(unique_id: str) -> str:
    return f"ha_web_{unique_id}"


@pytest.fixture
async def owner(
    hub_app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> SignedIn:
    # hub_app first: the broker must outlive the client (and so the hub) at teardown.
    client = await aiohttp_client(hub_app)
    return SignedIn(client, await sign_in(client, "owner-sub", "Olivia"))


@asynccontextmanager
async def second_browser(signed: SignedIn, subject: str, name: str) -> AsyncIterator[SignedIn]:
    """Another person's browser on the same running hub (its own cookie jar)."""
    client = TestClient(signed.client.server)
    await client.start_server()  # already running: this only opens a client session
    try:
        yield SignedIn(client, await sign_in(client, subject, name))
    finally:
        await client.session.close()
