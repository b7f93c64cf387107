"""Claim secrets at rest, sealed with the unit's serial as context (see cloud.sealing)."""

from __future__ import annotations

from cloud import sealing

CLAIM_SECRET_BYTES = 32


def seal(secret_key: str, serial: str, claim_secret: bytes) -> str:
    return sealing.seal(secret_key, sealing.PURPOSE_CLAIM_SECRETS, serial, claim_secret)


def unseal(secret_key: str, serial: str, sealed: str) -> bytes:
    return sealing.unseal(secret_key, sealing.PURPOSE_CLAIM_SECRETS, serial, sealed)
