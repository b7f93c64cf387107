"""BTCPay's webhook signature: `BTCPay-Sig: sha256=<hex HMAC-SHA256(secret, raw body)>`."""

from __future__ import annotations

import hashlib
import hmac

from cloud.payments.const import SIGNATURE_PREFIX


def sign_body(secret: str, body: bytes) -> str:
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of the header against the raw body (never re-serialised)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign_body(secret, body).encode(), header.strip().encode())
