"""Manifests state only what the loader reads: unknown keys and malformed discovery
matchers are refused with the integration's name; what is stated is what is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hub.core.errors import InvalidManifest
from hub.core.loader import read_integration, web_modules
from tests.hub.common import REAL_SOURCE


def write_manifest(base: Path, **fields: Any) -> None:
    folder = base / "gadget"
    folder.mkdir(exist_ok=True)
    manifest = {"domain": "gadget", "name": "Gadget", **fields}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_discovery_matchers_are_read_as_stated(tmp_path: Path) -> None:
    matcher = {"service_data_uuid": "0000fcd2-0000-1000-8000-00805f9b34fb"}
    write_manifest(tmp_path, bluetooth=[matcher], zeroconf=["_gadget._tcp.local."])
    manifest = read_integration("gadget", tmp_path, "pkg").manifest
    assert manifest.discovery == {"bluetooth": [matcher], "zeroconf": ["_gadget._tcp.local."]}


def test_a_key_nothing_reads_is_refused(tmp_path: Path) -> None:
    write_manifest(tmp_path, mqtt=["homeassistant/+/+/config"], codeowners=["x"])
    with pytest.raises(InvalidManifest, match="gadget: unknown manifest keys codeowners, mqtt"):
        read_integration("gadget", tmp_path, "pkg")


@pytest.mark.parametrize(
    "fields",
    [
        {"bluetooth": [{"manufacturer_id": 76}]},
        {"bluetooth": [{}]},
        {"bluetooth": {"service_data_uuid": "fcd2"}},
        {"zeroconf": "_gadget._tcp.local."},
    ],
)
def test_malformed_matchers_are_refused(tmp_path: Path, fields: dict[str, Any]) -> None:
    write_manifest(tmp_path, **fields)
    with pytest.raises(InvalidManifest, match=r"gadget: (bluetooth|zeroconf) must be a list"):
        read_integration("gadget", tmp_path, "pkg")


def test_an_integration_with_a_web_module_brings_its_pages(tmp_path: Path) -> None:
    write_manifest(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "manifest.json").write_text('{"domain": "plain", "name": "Plain"}', "utf-8")
    assert web_modules([(tmp_path, "pkg")]) == []
    (tmp_path / "gadget" / "web.py").write_text("routes = []\n", encoding="utf-8")
    assert web_modules([(tmp_path, "pkg")]) == ["pkg.gadget.web"]
    assert "hub.integrations.automation.web" in web_modules([REAL_SOURCE])
    assert "hub.integrations.mqtt.web" in web_modules([REAL_SOURCE])
