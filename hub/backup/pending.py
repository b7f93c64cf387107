"""Puts a checked restore (``restore-pending``, made by ``archive.stage_restore``) in place,
before the hub loads anything. What it replaces is kept in ``before-restore-<time>``.

Every step is a rename in the hub's folder, and each item leaves ``restore-pending`` as it
goes in, so a start cut short simply goes on with what is left at the next start.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
PENDING_DIR = "restore-pending"
BEFORE_RESTORE_PREFIX = "before-restore-"
MANIFEST = "backup.json"
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def apply_pending_restore(hub_dir: Path) -> bool:
    """Put a pending restore in place; whether there was one. Blocking."""
    pending = hub_dir / PENDING_DIR
    if not (pending / MANIFEST).is_file():
        return False
    aside = hub_dir / f"{BEFORE_RESTORE_PREFIX}{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    for item in sorted(pending.iterdir()):
        if item.name == MANIFEST:
            continue
        current = hub_dir / item.name
        for old in (current, *(current.with_name(current.name + s) for s in SQLITE_COMPANIONS)):
            if old.exists():
                aside.mkdir(mode=0o700, exist_ok=True)
                os.replace(old, aside / old.name)
        os.replace(item, current)
    shutil.rmtree(pending)
    if aside.exists():
        _LOGGER.warning(
            "Restored the backup; the data it replaced is kept in %s (delete it when all is well)",
            aside,
        )
    else:
        _LOGGER.warning("Restored the backup")
    return True
