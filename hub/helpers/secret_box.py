"""Encryption at rest for the hub's secrets (the store link's refresh token, client secret
and claim secrets; people's sealed refresh tokens).

One box per hub (``async_secret_box``), shared by the store link and sign-in. Fernet
(AES-128-CBC + HMAC-SHA256) under a random key kept in a file beside the hub's database,
readable by the hub's user only: a copy of ``hub.db`` alone reveals nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)
KEY_FILE: Final = "ethos_cloud.key"  # the name it has always had, beside hub.db


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


_BOX: Final[HubKey[SecretBox]] = HubKey("ethos_cloud.secret_box")


async def async_secret_box(hub: Hub) -> SecretBox:
    """The hub's one SecretBox (key file created on first use)."""
    box = hub.data.get(_BOX)
    if box is None:
        path = hub.config.hub_dir / KEY_FILE
        box = await asyncio.get_running_loop().run_in_executor(None, SecretBox.load_or_create, path)
        hub.data[_BOX] = box
    return box
