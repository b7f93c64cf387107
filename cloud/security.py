"""Small cryptographic helpers shared by the cloud areas: tokens, hashes, password hashing."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_BYTES = 32


def new_token() -> str:
    """A URL-safe random token carrying 256 bits."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps instead of a bearer token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value`, bound to `purpose`, URL-safe base64."""
    mac = hmac.new(secret_key.encode(), f"{purpose}\0{value}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def verify_signature(secret_key: str, purpose: str, value: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret_key, purpose, value), signature)


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile)."""
    return PasswordHasher()


# Verified against when the email is unknown, so both paths cost the same.
_DUMMY_HASH: list[str] = []


def hash_password_sync(password: str) -> str:
    return password_hasher().hash(password)


def verify_password_sync(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(password_hasher().hash(secrets.token_hex(16)))
        password_hash = _DUMMY_HASH[0]
        real = False
    else:
        real = True
    try:
        password_hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return real


async def hash_password(password: str) -> str:
    """argon2id costs tens of milliseconds of CPU: keep it off the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, hash_password_sync, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        None, verify_password_sync, password_hash, password
    )
