"""Secrets at rest: AES-256-GCM under keys derived from ETHOS_SECRET_KEY, one per purpose.

A database dump alone reveals none of them. Each sealed value is bound to a context (the
unit's serial, the key's id) as associated data, so a ciphertext copied onto another row
does not decrypt.
"""

from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"
_NONCE_BYTES = 12

PURPOSE_CLAIM_SECRETS = "ethos claim secrets v1"
PURPOSE_SIGNING_KEYS = "ethos signing keys v1"
PURPOSE_SHIPPING_ADDRESSES = "ethos shipping addresses v1"


@lru_cache(maxsize=16)
def _cipher(secret_key: str, purpose: str) -> AESGCM:
    """The purpose's cipher (stateless, so one serves every call: checkout seals each order)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return AESGCM(hkdf.derive(secret_key.encode()))


def seal(secret_key: str, purpose: str, context: str, plaintext: bytes) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _cipher(secret_key, purpose).encrypt(nonce, plaintext, context.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(secret_key: str, purpose: str, context: str, sealed: str) -> bytes:
    """Decrypt; raises ValueError for an unknown format, InvalidTag for a wrong key/context."""
    version, _, payload = sealed.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown sealing version {version!r}")
    raw = base64.b64decode(payload)
    return _cipher(secret_key, purpose).decrypt(
        raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode()
    )
