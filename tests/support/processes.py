"""Start helper processes for the e2e tier and wait until they listen."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_open(host, port, 0.2):
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"{process.args!r} did not listen on {host}:{port}")
        time.sleep(0.05)


def start_python(args: Sequence[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Run `python ARGS` from the repo root with the current interpreter."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env)


def run_python_code(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -c CODE ARGS`` from the repo root to its end; output captured as text."""
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def read_until(process: subprocess.Popen, text: str, timeout: float) -> list[str]:
    """Read a text-mode process's output line by line until one holds TEXT; the lines read.

    Fails with the output so far when the process ends or TIMEOUT passes without it.
    """
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if text in line:
            return lines
    raise AssertionError(f"{process.args!r} did not print {text!r}; output:\n" + "\n".join(lines))


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
