"""Encryption at rest for the store link's secrets (refresh token, client secret, claim secrets).

Fernet (AES-128-CBC + HMAC-SHA256) under a random key kept in a file beside the hub's
database, readable by the hub's user only: a copy of ``hub.db`` alone reveals nothing.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_LOGGER = logging.getLogger(__name__)


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted (the key file changed or the value was altered)."""


class SecretBox:
    def __init__(self, key: bytes) -> None:
        # Imported here: cryptography's Rust core is ~8 MB resident, paid by linked hubs only.
        from cryptography.fernet import Fernet

        self._fernet = Fernet(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SecretBox:
        """Read the key file, or create it (mode 0600). Blocking: run it in an executor."""
        try:
            return cls(path.read_bytes().strip())
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        from cryptography.fernet import Fernet  # see __init__

        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(key)
        _LOGGER.info("Created the key that encrypts the store link's secrets at %s", path)
        return cls(key)

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        from cryptography.fernet import InvalidToken  # loaded by __init__ already

        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError) as err:
            raise SecretUnreadable("a stored secret cannot be decrypted") from err
