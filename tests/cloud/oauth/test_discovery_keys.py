"""Discovery, the published keys, and signing-key rotation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from cloud.db import utcnow
from cloud.oauth.models import SigningKey
from cloud.oauth.runtime import async_reload_keys
from cloud.oauth.signing_keys import async_load_key_ring, async_rotate_signing_key
from cloud.web.keys import DB, SETTINGS
from tests.support.oidc_client import OidcClient


async def test_discovery_names_every_endpoint_under_the_issuer(provider, mobile: OidcClient):
    meta = await mobile.discover()
    base = provider.base_url
    assert meta["issuer"] == base
    assert meta["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert meta["token_endpoint"] == f"{base}/oauth/token"
    assert meta["jwks_uri"] == f"{base}/oauth/jwks"
    assert meta["userinfo_endpoint"] == f"{base}/oauth/userinfo"
    assert meta["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert meta["device_authorization_endpoint"] == f"{base}/oauth/device_authorization"
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "none" not in meta["id_token_signing_alg_values_supported"]
    assert {"openid", "profile", "email", "devices"} <= set(meta["scopes_supported"])


async def test_jwks_publishes_public_keys_only(provider, http):
    response = await http.get(f"{provider.base_url}/oauth/jwks")
    keys = response.json()["keys"]
    assert len(keys) == 1
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


async def test_the_key_survives_a_restart(provider, aiohttp_server, http):
    first = (await http.get(f"{provider.base_url}/oauth/jwks")).json()
    ring = await async_reload_keys(provider.app)  # what a restart (or a replica) loads
    assert ring.jwks() == first


async def test_rotation_keeps_the_old_key_published_until_its_tokens_expire(provider, http):
    old = (await http.get(f"{provider.base_url}/oauth/jwks")).json()["keys"][0]["kid"]
    async with provider.app[DB]() as session, session.begin():
        new = await async_rotate_signing_key(
            session, utcnow(), secret_key=provider.app[SETTINGS].secret_key
        )
    ring = await async_reload_keys(provider.app)
    published = [
        key["kid"] for key in (await http.get(f"{provider.base_url}/oauth/jwks")).json()["keys"]
    ]
    assert set(published) == {old, new}
    assert ring.signing.kid == new

    # Once every token the old key signed has expired, it is no longer published.
    later = utcnow() + timedelta(hours=1)
    async with provider.app[DB]() as session, session.begin():
        ring = await async_load_key_ring(
            session,
            later,
            secret_key=provider.app[SETTINGS].secret_key,
            rotate_after=timedelta(days=90),
            publish_for=timedelta(minutes=5),
        )
        kids = set((await session.scalars(select(SigningKey.kid))).all())
    assert [key.kid for key in ring.published] == [new]
    assert kids == {new}


async def test_a_reload_unseals_only_keys_it_does_not_hold(provider):
    """Housekeeping reloads the ring every few minutes on every replica: a key it already
    holds is used as it is, not unsealed and imported again (each import checks the RSA
    key, tens of milliseconds of CPU)."""
    first = await async_reload_keys(provider.app)
    again = await async_reload_keys(provider.app)
    assert again.signing is first.signing

    async with provider.app[DB]() as session, session.begin():
        new = await async_rotate_signing_key(
            session, utcnow(), secret_key=provider.app[SETTINGS].secret_key
        )
    rotated = await async_reload_keys(provider.app)
    assert rotated.signing.kid == new
    assert [key.kid for key in rotated.published] == [new, first.signing.kid]
    assert rotated.published[1] is first.signing
    # The new key was unsealed: it signs what the published set verifies.
    token = jwt.encode({"alg": "RS256", "kid": new}, {"sub": "1"}, rotated.signing)
    assert jwt.decode(token, KeySet.import_key_set(rotated.jwks()), ["RS256"]).claims["sub"] == "1"


async def test_a_key_older_than_the_rotation_age_is_replaced(provider):
    async with provider.app[DB]() as session, session.begin():
        before = await async_load_key_ring(
            session,
            utcnow(),
            secret_key=provider.app[SETTINGS].secret_key,
            rotate_after=timedelta(days=90),
            publish_for=timedelta(minutes=5),
        )
        after = await async_load_key_ring(
            session,
            utcnow() + timedelta(days=91),
            secret_key=provider.app[SETTINGS].secret_key,
            rotate_after=timedelta(days=90),
            publish_for=timedelta(minutes=5),
        )
    assert after.signing.kid != before.signing.kid
    assert before.signing.kid in {key.kid for key in after.published}
    # What the new key signs verifies against the published set.
    token = jwt.encode({"alg": "RS256", "kid": after.signing.kid}, {"sub": "1"}, after.signing)
    keys = KeySet.import_key_set(after.jwks())
    assert jwt.decode(token, keys, ["RS256"]).claims["sub"] == "1"


async def test_private_keys_are_sealed_at_rest(provider, http):
    """A database dump does not give the signing key away; another secret cannot open it."""
    from cryptography.exceptions import InvalidTag

    from cloud import sealing

    kid = (await http.get(f"{provider.base_url}/oauth/jwks")).json()["keys"][0]["kid"]
    async with provider.app[DB]() as session:
        row = await session.get(SigningKey, kid)
    assert '"d"' not in row.sealed_jwk and "PRIVATE" not in row.sealed_jwk
    secret = provider.app[SETTINGS].secret_key
    opened = sealing.unseal(secret, sealing.PURPOSE_SIGNING_KEYS, kid, row.sealed_jwk)
    assert b'"d"' in opened
    with pytest.raises(InvalidTag):
        sealing.unseal(secret + "x", sealing.PURPOSE_SIGNING_KEYS, kid, row.sealed_jwk)
