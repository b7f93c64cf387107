"""Firmware tests: make the flat MicroPython modules importable before test modules load.

The files in firmware/esp32_presence import each other by bare name, as on the ESP32;
``ensure_firmware_importable`` appends that folder to sys.path (see its docstring).
"""

from __future__ import annotations

from firmware.simulator.firmware_path import ensure_firmware_importable

ensure_firmware_importable()
