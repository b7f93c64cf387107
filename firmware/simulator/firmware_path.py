"""Make the flat firmware modules importable on CPython.

On the ESP32 the files sit side by side in the filesystem root and import each other by
bare name (``import ld2410``). CPython gets the same view by appending that folder to
``sys.path``; appending (not prepending) means a firmware module can never shadow a
standard-library or installed module, and the firmware's names are chosen not to collide.
"""

from __future__ import annotations

import sys
from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "esp32_presence"
# Modules that only exist on the device (they import machine/network/bluetooth/umqtt).
DEVICE_ONLY_MODULES = frozenset({"board", "main"})


def ensure_firmware_importable() -> Path:
    """Put the firmware folder on sys.path once; return it."""
    path = str(FIRMWARE_DIR)
    if path not in sys.path:
        sys.path.append(path)
    return FIRMWARE_DIR


def firmware_files() -> list[Path]:
    """Every file that gets copied onto the device."""
    return sorted(FIRMWARE_DIR.glob("*.py"))
