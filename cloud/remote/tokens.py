"""Broker tokens as the store's routes ask for them: a hub's, a person's.

The claims and rights are the broker's business (cloud/remote/broker_tokens.py, branch
remote-broker); until it lands, a minimal RS256 JWT signed by the ID-token key ring stands
in, with `sub` as REMOTE.md names it and the hubs as a claim. Routes use only these two
functions, so switching to the broker's minting changes this file alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from joserfc import jwt

from cloud.db import utcnow
from cloud.oauth.const import ID_TOKEN_ALG
from cloud.oauth.signing_keys import KeyRing
from cloud.remote.service import hub_subject, person_subject

AUDIENCE = "ethos-remote-broker"


def _sign(ring: KeyRing, issuer: str, subject: str, hubs: Sequence[str], seconds: int) -> str:
    now = utcnow()
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=seconds)).timestamp()),
        "hubs": list(hubs),
    }
    header = {"alg": ID_TOKEN_ALG, "kid": ring.signing.kid, "typ": "JWT"}
    return jwt.encode(header, claims, ring.signing)


def mint_hub_token(ring: KeyRing, issuer: str, client_id: str, seconds: int) -> str:
    return _sign(ring, issuer, hub_subject(client_id), [client_id], seconds)


def mint_person_token(
    ring: KeyRing, issuer: str, user_id: int, hubs: Sequence[str], seconds: int
) -> str:
    return _sign(ring, issuer, person_subject(user_id), hubs, seconds)
