"""`ethos hub serve`: documented in --help, and serving the hub from ETHOS_DATA_DIR."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from ethos.cli import main
from tests.conftest import DEFAULT_E2E_MQTT_URL
from tests.support.processes import free_port, start_python, stop, wait_for_port


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
