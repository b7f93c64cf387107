"""The link against the real store: the typed devices client with ETags, secrets sealed at
rest, and a revoked link that asks the owner to link again without losing anything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest

from hub.integrations.ethos_cloud import async_secret_box
from hub.integrations.ethos_cloud.client import EthosCloudClient
from hub.integrations.ethos_cloud.const import DATA_REFRESH_TOKEN, DOMAIN, SETUP_CLIENT_ID
from hub.integrations.ethos_cloud.sync import SyncStatus
from hub.web.keys import OIDC_KEY
from tests.cloud.common import PASSWORD, sign_up_and_confirm
from tests.hub.common import everything_written
from tests.hub.ethos_cloud.claim_device import claiming_device
from tests.hub.ethos_cloud.common import Home, unique_serial
from tests.hub.ethos_cloud.test_adoption_bad_input import honest
from tests.support.oidc_client import OidcClient, StoreBrowser


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_the_typed_client_reads_owned_devices_and_uses_etags(
    home: Home, http: httpx.AsyncClient
) -> None:
    base_url = home.shop.settings.base_url
    setup = OidcClient(base_url, SETUP_CLIENT_ID, http)
    grant = await setup.start_device_flow("openid devices")
    await home.person.decide_device(grant.user_code, approve=True)
    token = (await setup.poll_device_token(grant, interval=0)).access_token
    async with aiohttp.ClientSession() as session:
        client = EthosCloudClient(session, base_url)
        first = await client.async_owned_devices(token)
        assert first.devices == [] and first.etag
        unchanged = await client.async_owned_devices(token, first.etag)
        assert unchanged.devices is None and unchanged.etag == first.etag  # 304

        serial = unique_serial()
        secret = await home.buy(serial)
        bought = await client.async_owned_devices(token, first.etag)
        assert bought.devices is not None and bought.etag != first.etag
        [device] = bought.devices
        assert (device.serial, device.sku, device.claim_secret) == (serial, "EPD-1", secret)
        assert device.name  # the catalog's product name


async def test_secrets_are_sealed_in_what_the_hub_writes(home: Home) -> None:
    await home.link()
    home.poll_fast()
    serial = unique_serial()
    secret = await home.buy(serial)
    await home.runtime.sync.async_sync_once()
    assert serial in home.runtime.sync.owned
    [entry] = home.hub.config_entries.async_entries(DOMAIN)
    refresh = (await async_secret_box(home.hub)).open(entry.data[DATA_REFRESH_TOKEN])
    await home.hub.storage.async_flush()
    stored = everything_written(home.hub.config.hub_dir)
    assert b"ethos_cloud" in stored  # the documents exist and were read
    assert refresh.encode() not in stored and secret.encode() not in stored


async def test_a_revoked_link_asks_to_link_again_and_keeps_the_devices(
    home: Home, http: httpx.AsyncClient, mqtt_broker_url: str
) -> None:
    await home.link()
    await home.sign_in_to_hub()
    home.poll_fast()
    serial = unique_serial()
    secret = await home.buy(serial)
    await home.runtime.sync.async_sync_once()
    async with claiming_device(mqtt_broker_url, serial, home.prefix, honest(secret)):
        assert (await home.wait_adoption(serial))["verified"] is True

        # The owner removes the hub's access in the store (here: revokes its refresh token).
        [entry] = home.hub.config_entries.async_entries(DOMAIN)
        refresh = (await async_secret_box(home.hub)).open(entry.data[DATA_REFRESH_TOKEN])
        await OidcClient(home.shop.settings.base_url, SETUP_CLIENT_ID, http).revoke(refresh)
        sync = home.runtime.sync
        sync.interval = 3600  # stop the fast polling: this test drives the rounds
        sync._access_token = None  # the hour-long access token would hide the revocation
        await sync.async_sync_once()
        assert sync.status is SyncStatus.RELINK_REQUIRED
        assert serial in sync.owned  # the cached list stays
        assert home.adoption(serial)["verified"] is True  # and so does the adoption

        devices = await (await home.hub_client.get("/devices")).text()
        assert 'id="store-relink"' in devices and "Link the hub again" in devices
        page = await (await home.hub_client.get("/auth/link")).text()
        assert 'data-sync-status="relink_required"' in page
        assert "the store no longer accepts this link" in page and 'id="link-start"' in page

        # Linking again (the owner is signed in) brings the sync back.
        relinked = await home.link()
        assert 'data-sync-status="ok"' in relinked or 'data-sync-status="starting"' in relinked
        await home.runtime.sync.async_sync_once()
        assert home.runtime.sync.status is SyncStatus.OK
        assert serial in home.runtime.sync.owned
        assert home.adoption(serial)["verified"] is True


async def test_the_linked_account_owns_the_hub_and_an_uninvited_guest_gets_no_session(
    home: Home, unique_id: str
) -> None:
    await home.link()
    # A guest with their own store account reaches the hub's sign-in before the owner does.
    guest_email = f"guest-{unique_id}@example.org"
    await sign_up_and_confirm(home.shop.client, home.shop.smtp, guest_email)
    guest = StoreBrowser(home.shop.settings.base_url)
    try:
        await guest.sign_in(guest_email, PASSWORD)
        started = await home.hub_client.get("/auth/login", allow_redirects=False)
        callback = await guest.authorize(
            started.headers["Location"], home.app[OIDC_KEY].redirect_uri
        )
        refused = await home.hub_client.get(f"/auth/callback?{urlsplit(callback).query}")
        assert refused.status == 403 and "Ask the hub's owner" in await refused.text()
    finally:
        await guest.aclose()
    assert (await home.hub_client.get("/devices", allow_redirects=False)).status == 302

    await home.sign_in_to_hub()
    assert "· owner" in await (await home.hub_client.get("/devices")).text()
    # Only the owner may link the hub again.
    home.hub_client.session.cookie_jar.clear()
    assert 'id="link-start"' not in await (await home.hub_client.get("/auth/link")).text()
