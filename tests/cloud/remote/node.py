"""Runs the store's browser modules (cloud/static/remote/) under Node, which has WebCrypto
(``globalThis.crypto.subtle``) like the browser; tests skip with the reason when Node is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

SCRIPTS = Path(__file__).parent / "js"
NODE_TIMEOUT_S = 120


def run_node_script(script: str, *args: str) -> Any:
    """Run ``js/<script>`` with Node and return what it printed, parsed as JSON."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (apt-get install nodejs); .ci/run installs it")
    finished = subprocess.run(
        [node, str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)
