"""Broker tokens: what the store signs for a hub and for a person (default tier).

What the broker makes of these scopes is tested against the real node in
test_broker_rights.py; here, the claims and their bounds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from cloud.remote.broker_tokens import (
    mint_hub_token,
    mint_person_token,
    new_browser_client_id,
    new_hub_client_id,
)

HUB = "0123456789abcdef0123456789abcdef"
OTHER_HUB = "fedcba9876543210fedcba9876543210"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"alg": "RS256", "use": "sig"}, auto_kid=True)


def decode(token: str, key: RSAKey) -> tuple[dict, dict]:
    decoded = jwt.decode(token, key, algorithms=["RS256"])
    return dict(decoded.header), dict(decoded.claims)


def test_hub_token_is_signed_with_the_key_ring_and_names_the_hub(key: RSAKey) -> None:
    now = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    minted = mint_hub_token(key, HUB, now=now, issuer="https://store.example")
    header, claims = decode(minted.token, key)
    assert header["alg"] == "RS256" and header["kid"] == key.kid
    assert claims["sub"] == f"hub-{HUB}" == minted.subject
    assert claims["aud"] == "ethos_broker"
    assert claims["iss"] == "https://store.example"
    assert claims["exp"] - claims["iat"] == 600 == minted.expires_in
    assert claims["iat"] == int(now.timestamp())
    assert minted.client_id is not None and claims["client_id"] == minted.client_id
    prefix, suffix = minted.client_id[: len(HUB) + 5], minted.client_id[len(HUB) + 5 :]
    assert prefix == f"hub-{HUB}-" and len(suffix) == 32 and int(suffix, 16) >= 0


def test_each_hub_session_gets_an_unguessable_client_id_of_its_own(key: RSAKey) -> None:
    """Not derivable from the hub id: whoever could name it could push the hub off."""
    first, second = mint_hub_token(key, HUB), mint_hub_token(key, HUB)
    assert first.client_id != second.client_id
    assert f"hub-{HUB}" not in (first.client_id, second.client_id)
    chosen = new_hub_client_id(HUB)
    assert mint_hub_token(key, HUB, client_id=chosen).client_id == chosen


@pytest.mark.parametrize(
    "client_id",
    [
        f"hub-{HUB}",
        f"hub-{HUB}-",
        f"hub-{HUB}-*",
        f"hub-{HUB}-" + "0" * 31,
        f"hub-{HUB}-" + "A" * 32,
        f"hub-{OTHER_HUB}-" + "0" * 32,
        "web-" + "0" * 32,
    ],
)
def test_a_hub_token_is_refused_for_a_client_id_not_of_its_sessions(
    key: RSAKey, client_id: str
) -> None:
    with pytest.raises(ValueError, match="session client id"):
        mint_hub_token(key, HUB, client_id=client_id)


def test_hub_scopes_stay_in_its_own_topic_space(key: RSAKey) -> None:
    client_id = new_hub_client_id(HUB)
    _, claims = decode(mint_hub_token(key, HUB, client_id=client_id).token, key)
    assert sorted(claims["scope"].split()) == sorted(
        [
            f"ethos_broker.configure:%2F/mqtt-subscription-{client_id}qos*",
            f"ethos_broker.write:%2F/mqtt-subscription-{client_id}qos*",
            f"ethos_broker.read:%2F/mqtt-subscription-{client_id}qos*",
            f"ethos_broker.read:%2F/amq.topic/ethos-home.{HUB}.*",
            f"ethos_broker.write:%2F/amq.topic/ethos-home.{HUB}.*",
        ]
    )


def test_person_scopes_read_each_home_and_write_only_commands_and_hellos(key: RSAKey) -> None:
    client_id = new_browser_client_id()
    minted = mint_person_token(key, 42, [HUB, OTHER_HUB, HUB], client_id=client_id)
    _, claims = decode(minted.token, key)
    assert claims["sub"] == "user-42" and claims["client_id"] == client_id
    assert claims["exp"] - claims["iat"] == 300
    scopes = claims["scope"].split()
    assert [s for s in scopes if "mqtt-subscription" in s] == [
        f"ethos_broker.{p}:%2F/mqtt-subscription-{client_id}qos*"
        for p in ("configure", "write", "read")
    ]
    for hub in (HUB, OTHER_HUB):
        assert f"ethos_broker.read:%2F/amq.topic/ethos-home.{hub}.*" in scopes
        assert f"ethos_broker.write:%2F/amq.topic/ethos-home.{hub}.cmd.*" in scopes
        assert f"ethos_broker.write:%2F/amq.topic/ethos-home.{hub}.pair.*.hello" in scopes
    assert not [s for s in scopes if ".write:" in s and "amq.topic" in s and ".cmd.*" not in s
                and ".hello" not in s]  # fmt: skip
    assert len(scopes) == 3 + 3 * 2


def test_person_without_homes_gets_no_topic_rights(key: RSAKey) -> None:
    _, claims = decode(mint_person_token(key, 1, []).token, key)
    assert not [s for s in claims["scope"].split() if "amq.topic" in s]


@pytest.mark.parametrize(
    "hub",
    ["", "0123", HUB.upper(), HUB + "0", "0123456789abcdef0123456789abcde*", "a/b", "#"],
)
def test_a_malformed_hub_id_is_refused(key: RSAKey, hub: str) -> None:
    with pytest.raises(ValueError, match="hub id"):
        mint_hub_token(key, hub)
    with pytest.raises(ValueError, match="hub id"):
        mint_person_token(key, 1, [HUB, hub])


@pytest.mark.parametrize("user_id", [0, -1, True, "1"])
def test_a_malformed_user_id_is_refused(key: RSAKey, user_id: object) -> None:
    with pytest.raises(ValueError, match="user id"):
        mint_person_token(key, user_id, [HUB])  # type: ignore[arg-type]


@pytest.mark.parametrize("client_id", ["hub-" + HUB, "web-*", "web-" + "0" * 31, "web-x#"])
def test_a_client_id_that_is_not_a_browsers_is_refused(key: RSAKey, client_id: str) -> None:
    with pytest.raises(ValueError, match="client id"):
        mint_person_token(key, 1, [HUB], client_id=client_id)


def test_naive_time_is_refused(key: RSAKey) -> None:
    with pytest.raises(ValueError, match="timezone"):
        mint_hub_token(key, HUB, now=datetime(2026, 1, 1), lifetime=timedelta(seconds=60))
