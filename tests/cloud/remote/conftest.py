"""A store with remote access configured, served on a real port, with a recording broker
admin in place of the broker's management API (an out-of-process dependency), registered
hubs and their people."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import httpx
import pytest
from sqlalchemy import func, select
from sqlmodel import col

from cloud.accounts.models import User
from cloud.app import create_app
from cloud.config import CloudSettings
from cloud.remote.const import SWEEP_SECONDS
from cloud.remote.models import RemoteHub, RemoteMember
from cloud.remote.runtime import REMOTE
from cloud.remote.settings import RemoteSettings
from cloud.web.keys import DB
from tests.cloud.common import PASSWORD, csrf_from
from tests.cloud.oauth.conftest import HUB_REDIRECT_URI, Provider
from tests.cloud.oauth.conftest import browser as browser
from tests.cloud.oauth.conftest import http as http
from tests.cloud.oauth.conftest import hub_setup as hub_setup
from tests.cloud.oauth.conftest import signed_in as signed_in
from tests.cloud.oauth.hubs import HUB_METADATA, MEMBER_SCOPE, ONBOARDING_SCOPE
from tests.support.oidc_client import OidcClient, StoreBrowser, Tokens
from tests.support.processes import free_port
from tests.support.smtp_sink import MailCatcher

BROKER_WS_URL = "ws://127.0.0.1:15675/ws"
BROKER_MQTT_URL = "mqtt://127.0.0.1:1883"
HUB_SESSION = "/api/v1/remote/hub-session"


@dataclass
class RecordingBrokerAdmin:
    """Stands in for the broker's management API: who is connected, who was closed."""

    connected: set[str] = field(default_factory=set)
    disconnected: list[str] = field(default_factory=list)

    async def async_disconnect(self, subject: str, client_ids: Iterable[str] = ()) -> int:
        self.disconnected.append(subject)
        was_connected = subject in self.connected
        self.connected.discard(subject)
        return int(was_connected)

    async def async_connected_subjects(self) -> set[str]:
        return set(self.connected)


@dataclass(frozen=True)
class Hub:
    client_id: str
    client_secret: str

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.client_id, self.client_secret)


@pytest.fixture
def remote_settings() -> RemoteSettings:
    return RemoteSettings(mqtt_url=BROKER_MQTT_URL, ws_url=BROKER_WS_URL)


@pytest.fixture
def broker_admin() -> RecordingBrokerAdmin:
    return RecordingBrokerAdmin()


@pytest.fixture
def sweep_seconds() -> float:
    return SWEEP_SECONDS


@pytest.fixture
def relist_seconds() -> tuple[float, ...]:
    return ()  # the recording admin lists a connection at once: nothing to close again


@pytest.fixture
async def provider(
    aiohttp_server,
    aiohttp_client,
    cloud_settings: CloudSettings,
    smtp_server: MailCatcher,
    remote_settings: RemoteSettings,
    broker_admin: RecordingBrokerAdmin,
    sweep_seconds: float,
    relist_seconds: tuple[float, ...],
) -> Provider:
    """The store on a real port (its issuer URL is true), the recording admin in place."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(replace(cloud_settings, base_url=base_url, remote=remote_settings))
    app[REMOTE].admin = broker_admin
    app[REMOTE].sweep_seconds = sweep_seconds
    app[REMOTE].relist_seconds = relist_seconds
    server = await aiohttp_server(app, port=port)
    return Provider(base_url, app, await aiohttp_client(server), smtp_server)


async def register_hub(browser: StoreBrowser, hub_setup: OidcClient, **metadata: object) -> Hub:
    """Onboard a hub with the device flow (approved in `browser`) and register its client."""
    device = await hub_setup.start_device_flow(ONBOARDING_SCOPE)
    await browser.decide_device(device.user_code, approve=True)
    onboarding = await hub_setup.poll_device_token(device, interval=0)
    registered = await hub_setup.register(onboarding.access_token, HUB_METADATA | metadata)
    return Hub(registered["client_id"], registered["client_secret"])


@pytest.fixture
async def hub(browser: StoreBrowser, signed_in: str, hub_setup: OidcClient) -> Hub:
    """A hub registered by the signed-in owner."""
    return await register_hub(browser, hub_setup)


async def user_id_of(provider: Provider, email: str) -> int:
    async with provider.app[DB]() as session:
        user_id = await session.scalar(select(col(User.id)).where(col(User.email) == email))
    assert user_id is not None
    return user_id


def hub_oidc_client(provider: Provider, hub: Hub, http: httpx.AsyncClient) -> OidcClient:
    """The hub as the relying party it is for its people's sign-in."""
    return OidcClient(
        provider.base_url,
        hub.client_id,
        http,
        client_secret=hub.client_secret,
        redirect_uri=HUB_REDIRECT_URI,
        token_endpoint_auth_method="client_secret_basic",
    )


async def sign_in_to_hub(provider: Provider, hub: Hub, person: StoreBrowser) -> Tokens:
    """The person signs in to the hub's web UI with their store account: the hub's OIDC
    authorization code flow, consent given, code exchanged for tokens (returned)."""
    async with httpx.AsyncClient() as http:
        client = hub_oidc_client(provider, hub, http)
        request = await client.authorization_request(MEMBER_SCOPE)
        callback = await person.authorize(request.url, HUB_REDIRECT_URI, consent="allow")
        tokens = await client.exchange_code(callback, request)
    assert tokens.access_token
    return tokens


async def new_person(
    provider: Provider, email: str, hub: Hub | None = None
) -> tuple[StoreBrowser, str]:
    """A confirmed account signed in in a browser of its own (and, with `hub`, signed in
    to that hub through the store, as a hub's people are); returns it and its `sub`."""
    await provider.new_account(email)
    person = StoreBrowser(provider.base_url)
    await person.sign_in(email, PASSWORD)
    if hub is not None:
        await sign_in_to_hub(provider, hub, person)
    return person, str(await user_id_of(provider, email))


async def remote_rows(provider: Provider) -> tuple[int, int]:
    """How many hubs and memberships the store holds."""
    async with provider.app[DB]() as session:
        hubs = await session.scalar(select(func.count()).select_from(RemoteHub))
        members = await session.scalar(select(func.count()).select_from(RemoteMember))
    return hubs or 0, members or 0


async def broker_token(person: StoreBrowser) -> httpx.Response:
    """What the /home page's script asks for: a token for this account's homes."""
    page = await person.http.get("/home")
    csrf = page.text.split('data-csrf="', 1)[1].split('"', 1)[0]
    return await person.http.post("/home/broker-token", headers={"X-CSRF-Token": csrf})


async def delete_account(person: StoreBrowser) -> None:
    """The account's owner deletes it from the account page, with the password."""
    page = await person.http.get("/account/delete")
    response = await person.http.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303, response.text


async def hub_session(provider: Provider, http: httpx.AsyncClient, hub: Hub, *members: str):
    response = await http.post(
        provider.base_url + HUB_SESSION,
        json={"enabled": True, "members": list(members)},
        auth=hub.auth,
    )
    assert response.status_code == 200, response.text
    return response.json()
