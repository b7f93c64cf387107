"""`ethos demo` stops on Ctrl-C even when started with SIGINT ignored (a background job)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.support.processes import ROOT


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a shell does to a background job


def _read_until(proc: subprocess.Popen, text: str, timeout: float) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if text in line:
            return lines
    raise AssertionError(f"demo did not print {text!r}; output:\n" + "\n".join(lines))


def test_demo_started_with_sigint_ignored_still_stops_on_sigint(tmp_path):
    env = {**os.environ, "ETHOS_DATA_DIR": str(tmp_path / "demo"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ethos", "demo", "--fresh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_ignore_sigint,  # a signal disposition only, before any thread
    )
    try:
        # The broker is the first component; interrupt while the next ones start.
        _read_until(proc, "ready", 60)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert "demo stopped" in out
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
