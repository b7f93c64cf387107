"""Claim secrets at rest: AES-256-GCM under a key derived from ETHOS_SECRET_KEY.

A database dump alone does not reveal any secret; the serial is the associated data, so a
ciphertext copied onto another unit's row does not decrypt.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CLAIM_SECRET_BYTES = 32
_VERSION = "v1"
_NONCE_BYTES = 12


@lru_cache(maxsize=8)
def _key(secret_key: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ethos claim secrets v1")
    return hkdf.derive(secret_key.encode())


def seal(secret_key: str, serial: str, claim_secret: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, claim_secret, serial.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(secret_key: str, serial: str, sealed: str) -> bytes:
    version, _, payload = sealed.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown sealing version {version!r}")
    raw = base64.b64decode(payload)
    return AESGCM(_key(secret_key)).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], serial.encode())
