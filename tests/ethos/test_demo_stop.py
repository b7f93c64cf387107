"""`ethos demo` stops on Ctrl-C even when started with SIGINT ignored (a background job)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.processes import ROOT, read_until


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # what a shell does to a background job


def _processes_started_for(data_dir: Path) -> list[int]:
    """Ids of live processes whose environment names DATA_DIR: the demo's components."""
    marker = f"ETHOS_DATA_DIR={data_dir}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ + b"\0":
            found.append(int(entry.name))
    return found


def test_demo_started_with_sigint_ignored_still_stops_on_sigint(tmp_path):
    data_dir = tmp_path / "demo"
    env = {**os.environ, "ETHOS_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
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
        read_until(proc, "ready", 60)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert "demo stopped" in out
        assert proc.returncode == 0
        # The component being spawned at the interrupt is stopped too, not orphaned.
        assert _processes_started_for(data_dir) == []
    finally:
        for pid in _processes_started_for(data_dir):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
