"""ID-token signing keys: made on first start, kept sealed in the database, rotated on a schedule.

A retired key stays in the published JWKS until every ID token it signed has expired,
so relying parties (hubs) never see a valid token whose key they cannot fetch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from cloud import sealing
from cloud.oauth.const import ID_TOKEN_ALG, RSA_KEY_BITS
from cloud.oauth.models import SigningKey

_LOGGER = logging.getLogger(__name__)

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class KeyRing:
    """The key that signs now, and every public key a verifier may still need."""

    signing: RSAKey
    published: tuple[RSAKey, ...]

    def jwks(self) -> dict[str, Any]:
        return dict(KeySet(list(self.published)).as_dict(private=False))


def _generate_key() -> RSAKey:
    return RSAKey.generate_key(
        RSA_KEY_BITS, parameters={"alg": ID_TOKEN_ALG, "use": "sig"}, auto_kid=True
    )


def _seal_key(secret_key: str, key: RSAKey) -> str:
    private = json.dumps(key.as_dict(private=True)).encode()
    return sealing.seal(secret_key, sealing.PURPOSE_SIGNING_KEYS, str(key.kid), private)


def _unseal_key(secret_key: str, row: SigningKey) -> RSAKey:
    private = sealing.unseal(secret_key, sealing.PURPOSE_SIGNING_KEYS, row.kid, row.sealed_jwk)
    return RSAKey.import_key(json.loads(private))


def _unseal_keys(secret_key: str, rows: list[SigningKey]) -> dict[str, RSAKey]:
    return {row.kid: _unseal_key(secret_key, row) for row in rows}


async def _async_new_key_row(now: datetime, secret_key: str) -> SigningKey:
    # RSA key generation takes tens of milliseconds of CPU: not on the event loop.
    key = await asyncio.get_running_loop().run_in_executor(None, _generate_key)
    _LOGGER.info("new ID-token signing key %s", key.kid)
    return SigningKey(kid=str(key.kid), sealed_jwk=_seal_key(secret_key, key), created_at=now)


async def async_rotate_signing_key(session: AsyncSession, now: datetime, *, secret_key: str) -> str:
    """Retire the current key (still published) and start signing with a new one."""
    rows = (
        await session.scalars(select(SigningKey).where(col(SigningKey.retired_at).is_(None)))
    ).all()
    for row in rows:
        row.retired_at = now
        session.add(row)
    new = await _async_new_key_row(now, secret_key)
    session.add(new)
    await session.flush()
    return new.kid


async def async_load_key_ring(
    session: AsyncSession,
    now: datetime,
    *,
    secret_key: str,
    rotate_after: timedelta,
    publish_for: timedelta,
    may_rotate: bool = True,
    held: KeyRing | None = None,
) -> KeyRing:
    """Load the keys, creating the first one and rotating an old one when due.

    `publish_for` is how long a retired key stays published: the longest lifetime of a
    token it signed, plus clock skew. Without `may_rotate` (a replica that does not hold
    the rotation job) an old key is kept; only a missing key is made. Keys of the `held`
    ring are used as they are: a kid is its key's thumbprint, and a key row never changes.
    """
    keep_after = now - publish_for - CLOCK_SKEW
    await session.execute(delete(SigningKey).where(col(SigningKey.retired_at) < keep_after))
    rows = list((await session.scalars(select(SigningKey))).all())
    active = sorted((row for row in rows if row.retired_at is None), key=lambda row: row.created_at)
    if not active or (may_rotate and now - active[-1].created_at >= rotate_after):
        await async_rotate_signing_key(session, now, secret_key=secret_key)
        rows = list((await session.scalars(select(SigningKey))).all())
        active = [row for row in rows if row.retired_at is None]
    signing_row = max(active, key=lambda row: row.created_at)
    keys = {str(key.kid): key for key in held.published} if held else {}
    if new_rows := [row for row in rows if row.kid not in keys]:
        # Importing a private RSA key checks it: ~35 ms of CPU each, not on the event loop.
        loop = asyncio.get_running_loop()
        keys |= await loop.run_in_executor(None, _unseal_keys, secret_key, new_rows)
    published = tuple(
        keys[row.kid] for row in sorted(rows, key=lambda row: row.created_at, reverse=True)
    )
    signing = next(key for key in published if key.kid == signing_row.kid)
    return KeyRing(signing=signing, published=published)
