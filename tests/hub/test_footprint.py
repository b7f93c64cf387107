"""The hub stays light: no ORM, no pydantic anywhere in ``hub/`` (the store keeps SQLModel;
the Raspberry Pi's hub keeps JSON documents and the standard library's sqlite3), and a
plain start leaves the libraries it needs only on demand unloaded."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.support.processes import ROOT, free_port, stop, wait_for_port

HUB = Path(__file__).resolve().parents[2] / "hub"
NOT_IN_THE_HUB = frozenset({"sqlmodel", "sqlalchemy", "aiosqlite", "pydantic", "pydantic_core"})


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_hub_imports_no_orm_and_no_pydantic() -> None:
    found = {
        str(path.relative_to(HUB)): sorted(_imported(path) & NOT_IN_THE_HUB)
        for path in sorted(HUB.rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}


# Libraries the plain hub uses only on demand: YAML parsers when automations (or a
# dashboard, or the automation form) are read, astral when a sun trigger asks, tarfile for
# a backup, zoneinfo for a named time zone, decimal when the store's prices come, difflib
# when a dashboard card names an unknown entity.
# Never before they are needed either: cryptography before linking, a Bluetooth stack
# without an adapter.
ON_DEMAND = frozenset(
    {"ruamel", "yaml", "astral", "tarfile", "zoneinfo", "decimal", "difflib"}
    | {"cryptography", "bleak", "dbus_fast", "pydantic"}
)
# The hub's own code that runs automations (loaded with the first automation written),
# that keeps a linked hub in step with the store (loaded once linked) and that compiles
# templates (devices sending plain values need none).
ON_DEMAND_IN_THE_HUB = frozenset(
    {
        *(
            f"hub.integrations.automation.{name}"
            for name in ("automation", "actions", "conditions", "triggers", "schema")
        ),
        *(
            f"hub.integrations.ethos_cloud.{name}"
            for name in ("adoption", "sync", "broker_clients")
        ),
        "hub.helpers.template_sandbox",  # built on the first template compiled
        "hub.backup.archive",  # a backup made or restored
    }
)


def _modules_imported(importtime_log: str) -> set[str]:
    """Every module ``python -X importtime`` reported importing."""
    names = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


def test_a_plain_hub_start_imports_nothing_used_only_on_demand(tmp_path: Path) -> None:
    """`ethos hub serve` with its default integrations and no automations written: its
    resident memory is the Raspberry Pi's, so what runs only on demand is not loaded."""
    port = free_port()
    env = {
        **os.environ,
        "ETHOS_DATA_DIR": str(tmp_path),
        "ETHOS_HUB_DISCOVERY_PREFIX": f"ha_{port}",
        "PYTHONPROFILEIMPORTTIME": "1",
    }
    env.pop("MQTT_URL", None)
    env.pop("ETHOS_HUB_TIME_ZONE", None)  # the system's zone, as a Pi left as it came
    env["ETHOS_HUB_BLUETOOTH_ADAPTER"] = "hci-absent"  # no adapter, on any machine
    log = tmp_path / "importtime.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ethos.cli", "hub", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_for_port("127.0.0.1", port, proc)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                assert json.load(answer)["state"] == "running"
        finally:
            stop(proc)
    imported = _modules_imported(log.read_text())
    assert "hub.integrations.automation.engine" in imported  # automations are set up
    assert {name.split(".")[0] for name in imported} & ON_DEMAND == set()
    assert imported & ON_DEMAND_IN_THE_HUB == set()
