"""The running hub's hold on its data folder: neither a second hub nor a restore may write
under it. An advisory ``flock`` on ``.lock``, which the kernel lets go however the process
ends."""

from __future__ import annotations

import os
from pathlib import Path

from hub.const import LOCK_FILE
from hub.core.storage import StorageError


class HubRunning(StorageError):
    """Another hub (or a restore) holds the data folder."""


class FolderLock:
    """An exclusive lock on the hub's folder while a hub runs."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Blocking (opens a file): call it from an executor in the loop."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            os.close(fd)
            raise HubRunning(
                f"a hub is running on {self.path.parent} (stop it first: "
                "`systemctl stop ethos-hub`, or Ctrl-C where it runs)"
            ) from err
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
