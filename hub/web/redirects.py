"""Where the hub may send a browser back to: its own pages only (no open redirects)."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit


def local_path(candidate: object, fallback: str = "/") -> str:
    """``candidate`` when it is a path on this hub, else ``fallback``.

    Browsers drop TAB/CR/LF from URLs and read ``\\`` as ``/``, so ``/\\t/evil.example`` or
    ``/\\evil.example`` would become the scheme-relative ``//evil.example``: any control
    character or backslash refuses the value, as does anything with a scheme or host.
    """
    if not isinstance(candidate, str) or not candidate.startswith("/") or len(candidate) > 2000:
        return fallback
    if "\\" in candidate or any(
        unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in candidate
    ):
        return fallback
    if candidate.startswith("//"):
        return fallback
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return fallback
    return candidate


def next_after_sign_in(candidate: object) -> str:
    """A ``next`` for the sign-in flow: a local path, never back into ``/auth/``."""
    path = local_path(candidate)
    return "/" if path.startswith("/auth/") else path
