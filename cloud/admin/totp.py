"""Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), the operators' second factor.

HMAC-SHA1, 30-second steps, 6 digits: what every authenticator app reads from an
``otpauth://totp/`` URI. A code is accepted one step either side of now (clock drift),
and never twice: the caller keeps the last step accepted and passes it back.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended key length for HMAC-SHA1
DRIFT_STEPS = 1
ISSUER = "Ethos store"


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_text(secret: bytes) -> str:
    """The secret as authenticator apps take it typed in: base32 without padding."""
    return base64.b32encode(secret).decode().rstrip("=")


def hotp(secret: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 §5.3: dynamic truncation of HMAC-SHA1(secret, counter)."""
    digest = hmac.new(secret, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def time_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP_SECONDS)


def code_at(secret: bytes, at: float | None = None) -> str:
    return hotp(secret, time_step(at))


def matching_step(secret: bytes, code: str, last_step: int, at: float | None = None) -> int | None:
    """The time step `code` belongs to (within the drift window, after `last_step`), or None."""
    code = "".join(code.split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    now = time_step(at)
    found = None
    for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
        # Compare every candidate in constant time; no early exit on a match.
        if hmac.compare_digest(hotp(secret, step), code) and step > last_step:
            found = step
    return found


def provisioning_uri(secret: bytes, account: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode({"secret": secret_text(secret), "issuer": issuer, "digits": DIGITS})
    return f"otpauth://totp/{label}?{query}&period={STEP_SECONDS}&algorithm=SHA1"
