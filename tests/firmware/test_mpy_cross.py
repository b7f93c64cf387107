"""Every file that goes onto the ESP32 compiles with mpy-cross (MicroPython's own compiler)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from firmware.simulator.firmware_path import firmware_files


@pytest.mark.parametrize("source", firmware_files(), ids=lambda path: path.name)
def test_firmware_file_compiles_with_mpy_cross(source: Path, tmp_path: Path) -> None:
    output = tmp_path / (source.stem + ".mpy")
    completed = subprocess.run(
        [sys.executable, "-m", "mpy_cross", "-march=xtensawin", "-o", str(output), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert output.read_bytes()[:1] == b"M"  # the .mpy header


def test_mpy_cross_rejects_syntax_micropython_lacks(tmp_path: Path) -> None:
    # Guards the guard: a `match` statement must fail, or the test above proves nothing.
    source = tmp_path / "bad.py"
    source.write_text("match 1:\n    case 1:\n        pass\n")
    completed = subprocess.run(
        [sys.executable, "-m", "mpy_cross", str(source)], capture_output=True, check=False
    )
    assert completed.returncode != 0
