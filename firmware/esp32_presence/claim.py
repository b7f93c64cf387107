"""Claim proof and broker password, both HMAC-SHA256 built on hashlib (MicroPython has no hmac).

HMAC per RFC 2104 with SHA-256's 64-byte block. The nonce is the exact payload bytes the hub
published on ``ethos/<serial>/claim/challenge``; the answer is the lowercase hex digest.
The device logs in to the broker as its serial with HMAC(claim_secret, "ethos-mqtt-v1"):
the hub derives the same password from the store's copy of the secret.
"""

import binascii
import hashlib

from presence_const import BROKER_PASSWORD_CONTEXT, CLAIM_NONCE_MAX, CLAIM_NONCE_MIN

BLOCK_SIZE = 64
_INNER_PAD = 0x36
_OUTER_PAD = 0x5C


def _padded_key(key: bytes, pad: int) -> bytearray:
    if len(key) > BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    out = bytearray(BLOCK_SIZE)
    for i in range(BLOCK_SIZE):
        out[i] = (key[i] if i < len(key) else 0) ^ pad
    return out


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    inner = hashlib.sha256(_padded_key(key, _INNER_PAD))
    inner.update(message)
    outer = hashlib.sha256(_padded_key(key, _OUTER_PAD))
    outer.update(inner.digest())
    return outer.digest()


def answer_challenge(claim_secret: bytes, nonce: bytes) -> str:
    """Hex answer to a claim nonce; ValueError for a nonce of implausible size."""
    if not CLAIM_NONCE_MIN <= len(nonce) <= CLAIM_NONCE_MAX:
        raise ValueError("nonce must be %d..%d bytes" % (CLAIM_NONCE_MIN, CLAIM_NONCE_MAX))
    return binascii.hexlify(hmac_sha256(claim_secret, nonce)).decode()


def broker_password(claim_secret: bytes) -> str:
    """The device's MQTT password: lowercase hex HMAC-SHA256(claim_secret, "ethos-mqtt-v1")."""
    return binascii.hexlify(hmac_sha256(claim_secret, BROKER_PASSWORD_CONTEXT)).decode()
