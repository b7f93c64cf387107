"""My home in the installed store app: a shortcut to /home in the manifest, and a service
worker that leaves the broker token alone (never answered from, or put in, its cache), serves
/home and its scripts from the network, and falls back to the offline page."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cloud.remote.node import run_node_script

STATIC = Path(__file__).parents[3] / "cloud" / "static"


def test_manifest_has_a_my_home_shortcut():
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text())
    shortcuts = {shortcut["url"]: shortcut for shortcut in manifest["shortcuts"]}
    assert shortcuts["/home"]["name"] == "My home"
    for icon in shortcuts["/home"]["icons"]:
        assert (STATIC / icon["src"].removeprefix("/static/")).is_file()


def test_service_worker_never_handles_the_broker_token_and_serves_home_from_the_network():
    result = run_node_script("sw_check.mjs")
    assert result["token_post"] == "not handled"
    assert result["token_get"] == "not handled"
    assert result["home_page"] == "network"
    assert result["remote_script"] == "network"
    assert result["home_page_offline"] == "cached"  # the offline page
    assert not [url for url in result["cached"] if "broker-token" in url or "/home" in url]
    assert not [url for url in result["fetched"] if "broker-token" in url]
