"""POST /api/v1/remote/hub-session: a registered hub turns remote access on with the
accounts it lets in, gets its broker token; bad callers and bad bodies change nothing."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from cloud.oauth.const import HUB_SETUP_CLIENT_ID
from cloud.oauth.models import OAuthClient
from cloud.remote.service import can_open_hub_session
from tests.cloud.common import csrf_from, sign_up
from tests.cloud.remote.conftest import (
    BROKER_MQTT_URL,
    HUB_SESSION,
    Hub,
    broker_token,
    new_person,
    register_hub,
    remote_rows,
    sign_in_to_hub,
    user_id_of,
)


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


async def _session(provider, http: httpx.AsyncClient, hub: Hub, body: object, **kwargs):
    return await http.post(provider.base_url + HUB_SESSION, json=body, auth=hub.auth, **kwargs)


async def test_a_registered_hub_gets_its_token_and_lets_its_members_in(
    provider, http, browser, signed_in, hub, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    response = await _session(
        provider, http, hub, {"enabled": True, "members": [owner, member_sub, "999999", "bob"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["broker_url"] == BROKER_MQTT_URL
    assert body["topic_root"] == f"ethos-home/{hub.client_id}"
    assert body["expires_in"] == 600
    assert body["ignored"] == ["999999", "bob"]
    assert body["ignored_reasons"] == {
        "999999": "not_a_store_account",
        "bob": "not_a_store_account",
    }
    assert _claims(body["token"])["sub"] == f"hub-{hub.client_id}"
    # The MQTT client id the token is tied to: new each session, not derivable from the hub.
    assert body["client_id"].startswith(f"hub-{hub.client_id}-")
    assert len(body["client_id"]) == len(f"hub-{hub.client_id}-") + 32
    assert _claims(body["token"])["client_id"] == body["client_id"]
    assert f"mqtt-subscription-{body['client_id']}qos*" in str(_claims(body["token"])["scope"])

    answer = await broker_token(member)
    assert answer.status_code == 200
    assert answer.json()["homes"] == [{"hub": hub.client_id, "name": "Living room hub"}]
    assert _claims(answer.json()["token"])["sub"] == f"user-{member_sub}"
    await member.aclose()


async def test_an_unconfirmed_account_is_not_let_in(provider, http, signed_in, hub, unique_id):
    owner = str(await user_id_of(provider, signed_in))
    await sign_up(provider.client, f"pending-{unique_id}@example.org")
    pending = str(await user_id_of(provider, f"pending-{unique_id}@example.org"))
    response = await _session(provider, http, hub, {"enabled": True, "members": [owner, pending]})
    assert response.status_code == 200
    assert response.json()["ignored"] == [pending]
    assert await remote_rows(provider) == (1, 1)


async def test_an_account_that_never_signed_in_to_the_hub_is_not_let_in(
    provider, http, signed_in, hub, unique_id
):
    """Any confirmed account is not enough: the hub's people signed in to it through the
    store. Listing a stranger would give them person-token rights to this home."""
    owner = str(await user_id_of(provider, signed_in))
    stranger, stranger_sub = await new_person(provider, f"stranger-{unique_id}@example.org")
    response = await _session(
        provider, http, hub, {"enabled": True, "members": [owner, stranger_sub]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["ignored"] == [stranger_sub]
    assert response.json()["ignored_reasons"] == {stranger_sub: "not_signed_in_to_this_hub"}
    assert await remote_rows(provider) == (1, 1)  # the owner only
    answer = await broker_token(stranger)
    assert answer.json()["homes"] == [] and "token" not in answer.json()
    # Once they sign in to the hub through the store, the same list lets them in.
    await sign_in_to_hub(provider, hub, stranger)
    again = await _session(provider, http, hub, {"enabled": True, "members": [owner, stranger_sub]})
    assert again.json()["ignored"] == []
    assert (await broker_token(stranger)).json()["homes"][0]["hub"] == hub.client_id
    await stranger.aclose()


async def test_signing_in_to_another_hub_does_not_count(
    provider, http, browser, signed_in, hub, hub_setup, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    other_hub = await register_hub(browser, hub_setup)
    person, person_sub = await new_person(provider, f"other-{unique_id}@example.org", other_hub)
    response = await _session(
        provider, http, hub, {"enabled": True, "members": [owner, person_sub]}
    )
    assert response.json()["ignored_reasons"] == {person_sub: "not_signed_in_to_this_hub"}
    await person.aclose()


async def test_a_member_who_revoked_the_hubs_access_is_dropped_at_the_next_session(
    provider, http, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await _session(provider, http, hub, {"enabled": True, "members": [owner, member_sub]})
    assert await remote_rows(provider) == (1, 2)
    page = await member.http.get("/account")
    revoked = await member.http.post(
        "/account/access/revoke",
        data={"client_id": hub.client_id, "csrf_token": csrf_from(page.text)},
    )
    assert revoked.status_code == 303
    response = await _session(
        provider, http, hub, {"enabled": True, "members": [owner, member_sub]}
    )
    assert response.json()["ignored_reasons"] == {member_sub: "not_signed_in_to_this_hub"}
    assert broker_admin.disconnected == [f"user-{member_sub}"]
    assert await remote_rows(provider) == (1, 1)
    await member.aclose()


async def test_wrong_credentials_are_refused_and_nothing_is_written(provider, http, hub):
    wrong = Hub(hub.client_id, "not-the-secret")
    response = await _session(provider, http, wrong, {"enabled": True, "members": []})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    anonymous = await http.post(provider.base_url + HUB_SESSION, json={"enabled": True})
    assert anonymous.status_code == 401
    assert await remote_rows(provider) == (0, 0)


async def test_a_first_party_client_may_not_open_a_hub_session(provider, http):
    response = await http.post(
        provider.base_url + HUB_SESSION,
        json={"enabled": True, "members": []},
        auth=httpx.BasicAuth(HUB_SETUP_CLIENT_ID, "anything"),
    )
    assert response.status_code in (401, 403)
    assert response.json()["error"] in ("invalid_client", "unauthorized_client")
    assert await remote_rows(provider) == (0, 0)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b'{"enabled": true, "members": [', "body"),
        (b'{"enabled": "yes"}', "enabled"),
        (b'{"members": []}', "enabled"),
        (b'{"enabled": true, "members": [7]}', "members.0"),
        (
            json.dumps({"enabled": True, "members": [str(n) for n in range(101)]}).encode(),
            "members",
        ),
        (json.dumps({"enabled": True, "members": ["1" * 65]}).encode(), "members.0"),
        (b'{"enabled": true, "admin": true}', "admin"),
        (b"[]", "body"),
    ],
)
async def test_a_bad_body_is_a_clear_400_and_nothing_is_written(
    provider, http, hub, content, field
):
    response = await http.post(
        provider.base_url + HUB_SESSION,
        content=content,
        headers={"Content-Type": "application/json"},
        auth=hub.auth,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert field in response.json()["fields"]
    assert await remote_rows(provider) == (0, 0)


async def test_a_body_that_is_not_json_or_too_large_is_refused(provider, http, hub):
    form = await http.post(provider.base_url + HUB_SESSION, data={"enabled": "true"}, auth=hub.auth)
    assert form.status_code == 415
    huge = b'{"enabled": true, "members": ["' + b"1" * 20_000 + b'"]}'
    large = await http.post(
        provider.base_url + HUB_SESSION,
        content=huge,
        headers={"Content-Type": "application/json"},
        auth=hub.auth,
    )
    assert large.status_code == 413
    assert await remote_rows(provider) == (0, 0)


async def test_turning_remote_access_off_forgets_members_and_disconnects(
    provider, http, signed_in, hub, broker_admin
):
    owner = str(await user_id_of(provider, signed_in))
    await _session(provider, http, hub, {"enabled": True, "members": [owner]})
    response = await _session(provider, http, hub, {"enabled": False, "members": [owner]})
    assert response.status_code == 200
    assert response.json() == {"enabled": False}
    assert set(broker_admin.disconnected) == {f"hub-{hub.client_id}", f"user-{owner}"}
    assert await remote_rows(provider) == (1, 0)


async def test_shrinking_the_members_disconnects_only_who_left(
    provider, http, browser, signed_in, hub, broker_admin, unique_id
):
    owner = str(await user_id_of(provider, signed_in))
    member, member_sub = await new_person(provider, f"member-{unique_id}@example.org", hub)
    await _session(provider, http, hub, {"enabled": True, "members": [owner, member_sub]})
    assert broker_admin.disconnected == []
    await _session(provider, http, hub, {"enabled": True, "members": [owner]})
    assert broker_admin.disconnected == [f"user-{member_sub}"]
    answer = await broker_token(member)
    assert answer.json()["homes"] == [] and "token" not in answer.json()
    await member.aclose()


@pytest.mark.parametrize(
    ("client_id", "first_party", "allowed"),
    [
        ("0123456789abcdef0123456789abcdef", False, True),
        ("0123456789abcdef0123456789abcdef", True, False),  # a store app, never a home
        ("Bp1lm2mdLxCuHWEBmLkQe14bTwJYP8QqdmU6pgM7aU", False, False),  # registered before #19
    ],
)
def test_only_a_registered_hub_with_a_home_id_may_open_a_session(client_id, first_party, allowed):
    client = OAuthClient(
        client_id=client_id,
        name="hub",
        grant_types="authorization_code",
        scope="openid",
        token_endpoint_auth_method="client_secret_basic",
        first_party=first_party,
    )
    refusal = can_open_hub_session(client)
    assert (refusal is None) is allowed
    if refusal is not None:
        assert refusal.status == 403 and refusal.message


async def test_the_openapi_document_describes_the_hub_session(provider, http):
    document = (await http.get(provider.base_url + "/api/v1/openapi.json")).json()
    operation = document["paths"][HUB_SESSION]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/HubSessionIn"}
    schema = document["components"]["schemas"]["HubSessionIn"]
    assert schema["properties"]["members"]["maxItems"] == 100
    assert {"200", "400", "401", "413", "503"} <= set(operation["responses"])
