"""`ethos hub serve`: documented in --help, and serving the hub from ETHOS_DATA_DIR."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from benchmarks.hub_disk_writes import filesystem_of, write_bytes
from ethos.cli import main
from tests.conftest import DEFAULT_E2E_MQTT_URL
from tests.support.processes import ROOT, free_port, start_python, stop, wait_for_port


def test_serve_help_names_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["hub", "serve", "--help"])
    text = capsys.readouterr().out
    for variable in ("ETHOS_DATA_DIR", "MQTT_URL", "ETHOS_CLOUD_URL", "--port"):
        assert variable in text


def test_serve_starts_the_hub_with_its_data_under_the_data_dir(tmp_path: Path, e2e: bool) -> None:
    port = free_port()
    env = {
        **os.environ,
        "ETHOS_DATA_DIR": str(tmp_path),
        "ETHOS_HUB_DISCOVERY_PREFIX": f"ha_{port}",
    }
    env.pop("MQTT_URL", None)
    if e2e:  # the real broker; the default tier's broker lives in-process, out of reach
        env["MQTT_URL"] = os.environ.get("MQTT_URL", DEFAULT_E2E_MQTT_URL)
    proc = start_python(["-m", "ethos.cli", "hub", "serve", "--port", str(port)], env=env)
    try:
        wait_for_port("127.0.0.1", port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.load(response)
        assert health["state"] == "running"
        # Seconds since the core began starting: it has run at least as long as its start.
        assert health["uptime"] >= health["started_in"] > 0
        assert (tmp_path / "hub" / "history.db").is_file()
        assert (tmp_path / "hub" / "storage" / "core.config_entries.json").is_file()
    finally:
        stop(proc)


def test_a_hub_where_nothing_changes_writes_nothing(tmp_path: Path) -> None:
    """An SD card wears with every write: a hub with nothing to record writes nothing at all
    (the disk-writes benchmark measures the same under load, against earlier code)."""
    if filesystem_of(tmp_path.resolve()) in ("tmpfs", "ramfs", "?"):
        pytest.skip("the test folder is not on a disk: write_bytes would count nothing")
    env = {**os.environ, "ETHOS_DATA_DIR": str(tmp_path), "ETHOS_HUB_HISTORY_COMMIT_SECONDS": "0.2"}
    env.pop("MQTT_URL", None)
    for start in ("first", "again"):  # the first start writes the entries it makes
        port = free_port()
        # Its log goes nowhere: logs go to the journal through a pipe, not to the hub's disk.
        proc = subprocess.Popen(
            [sys.executable, "-m", "ethos.cli", "hub", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", port, proc)
            if start == "again":
                time.sleep(1.0)  # five commit intervals: anything pending has gone
                before = write_bytes(proc.pid)
                time.sleep(3.0)
                assert write_bytes(proc.pid) == before
        finally:
            stop(proc)
