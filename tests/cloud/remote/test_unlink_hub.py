"""The owner unlinks a hub from the store's account page: a confirmation, then a POST with
CSRF that deletes its OAuth client and everything it was given, forgets its remote access
and closes the broker connections of the hub and its people at once (the recording broker
admin stands in for the broker's management API)."""

from __future__ import annotations

import re

import httpx
import pytest

from cloud.oauth.const import HUB_SETUP_CLIENT_ID
from cloud.remote.runtime import REMOTE
from tests.cloud.common import csrf_from
from tests.cloud.remote.conftest import (
    HUB_SESSION,
    broker_token,
    hub_oidc_client,
    new_person,
    remote_rows,
    sign_in_to_hub,
    user_id_of,
)
from tests.support.oidc_client import OidcError

UNLINK = "/account/hubs/{}/unlink"


async def _confirmation(person, client_id: str) -> httpx.Response:
    page = await person.http.get(UNLINK.format(client_id))
    assert page.status_code == 200, page.text
    return page


async def _unlink(person, client_id: str, **fields: str) -> httpx.Response:
    page = await _confirmation(person, client_id)
    data = {"csrf_token": csrf_from(page.text), "confirm": "unlink"} | fields
    return await person.http.post(UNLINK.format(client_id), data=data)


async def test_the_owner_unlinks_a_hub_and_it_and_its_people_are_cut_off(
    provider, http, browser, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    owner_tokens = await sign_in_to_hub(provider, hub, browser)
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    member_tokens = await sign_in_to_hub(provider, hub, member)
    let_in = await http.post(
        provider.base_url + HUB_SESSION,
        json={"enabled": True, "members": [owner, member_sub]},
        auth=hub.auth,
    )
    assert let_in.status_code == 200 and let_in.json()["ignored"] == []
    broker_admin.connected |= {f"hub-{hub.client_id}", f"user-{owner}", f"user-{member_sub}"}

    account = await browser.http.get("/account")
    assert re.search(
        rf'data-hub="{hub.client_id}">\s*<strong>Living room hub</strong>', account.text
    )
    assert UNLINK.format(hub.client_id) in account.text
    confirmation = await _confirmation(browser, hub.client_id)
    assert "Unlink “Living room hub”?" in confirmation.text
    assert 'name="confirm" value="unlink"' in confirmation.text

    done = await _unlink(browser, hub.client_id)
    assert done.status_code == 200, done.text
    assert "is no longer linked to your account" in done.text
    await provider.app[REMOTE].async_idle()  # the closing starts once the unlink commits
    assert set(broker_admin.disconnected) == {
        f"hub-{hub.client_id}",
        f"user-{owner}",
        f"user-{member_sub}",
    }
    assert broker_admin.connected == set()
    assert await remote_rows(provider) == (0, 0)
    assert (await broker_token(member)).json()["homes"] == []
    assert hub.client_id not in (await browser.http.get("/account")).text

    # The hub's next hub-session and token refreshes are refused, clearly.
    session = await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": []}, auth=hub.auth
    )
    assert session.status_code == 401
    assert session.json()["error"] == "invalid_client"
    relying_party = hub_oidc_client(provider, hub, http)
    for tokens in (owner_tokens, member_tokens):
        assert tokens.refresh_token is not None
        with pytest.raises(OidcError) as refused:
            await relying_party.refresh(tokens.refresh_token)
        assert refused.value.status in (400, 401)
        assert refused.value.error in ("invalid_client", "invalid_grant")
    # Its access tokens are dead too: the owned devices are no longer listed to it.
    devices = await http.get(
        provider.base_url + "/api/v1/me/devices",
        headers={"Authorization": f"Bearer {owner_tokens.access_token}"},
    )
    assert devices.status_code == 401
    await member.aclose()


async def test_without_the_confirmation_or_csrf_nothing_is_unlinked(
    provider, http, browser, signed_in, hub, broker_admin
):
    owner = str(await user_id_of(provider, signed_in))
    await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": [owner]}, auth=hub.auth
    )
    page = await _confirmation(browser, hub.client_id)
    unconfirmed = await browser.http.post(
        UNLINK.format(hub.client_id), data={"csrf_token": csrf_from(page.text)}
    )
    assert unconfirmed.status_code == 303
    assert unconfirmed.headers["location"] == UNLINK.format(hub.client_id)
    forged = await browser.http.post(UNLINK.format(hub.client_id), data={"confirm": "unlink"})
    assert forged.status_code == 403
    assert broker_admin.disconnected == []
    assert await remote_rows(provider) == (1, 1)
    still = await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": [owner]}, auth=hub.auth
    )
    assert still.status_code == 200


async def test_only_the_hubs_owner_can_unlink_it(
    provider, http, browser, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    await http.post(
        provider.base_url + HUB_SESSION, json={"enabled": True, "members": [owner]}, auth=hub.auth
    )
    other, _ = await new_person(provider, f"other-{unique_id}@example.org", hub)
    for client_id in (hub.client_id, HUB_SETUP_CLIENT_ID, "0" * 32):
        assert (await other.http.get(UNLINK.format(client_id))).status_code == 404
        own_page = await other.http.get("/account")
        attempt = await other.http.post(
            UNLINK.format(client_id),
            data={"csrf_token": csrf_from(own_page.text), "confirm": "unlink"},
        )
        assert attempt.status_code == 404, client_id
    for first_party in (HUB_SETUP_CLIENT_ID, "0" * 32):
        assert (await browser.http.get(UNLINK.format(first_party))).status_code == 404
    assert broker_admin.disconnected == []
    assert await remote_rows(provider) == (1, 1)
    await other.aclose()


async def test_signed_out_the_unlink_page_asks_to_sign_in(provider, hub):
    async with httpx.AsyncClient(base_url=provider.base_url) as anonymous:
        page = await anonymous.get(UNLINK.format(hub.client_id))
    assert page.status_code == 303
    assert page.headers["location"].startswith("/account/login")
