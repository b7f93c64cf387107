"""A snapshot in parts on /home (cloud/static/remote/link.js and snapshot.js under Node, a hub
played with WebCrypto): shown once whole, held until the key came, never a mix of two
snapshots, and parts that would cost unbounded memory or do not fit their topic refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud.remote.node import run_node_script


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_node_script("snapshot_check.mjs")


def _between(calls: list[list[Any]], first: str, last: str) -> list[list[Any]]:
    return calls[calls.index(["mark", first]) + 1 : calls.index(["mark", last])]


def test_retained_parts_before_the_key_are_shown_whole_once_it_came(run):
    assert run["calls"][0] == ["snapshot", ["sensor.c0", "sensor.c1"]]
    assert run["calls"][1] == ["mark", "whole"]


def test_a_snapshot_in_three_parts_is_shown_once_with_every_entity_in_order(run):
    assert _between(run["calls"], "whole", "mixed") == [
        ["entity", "sensor.a2"],  # an event between the parts is shown as it comes
        ["snapshot", ["sensor.a0", "sensor.a1", "sensor.a2", "sensor.a3"]],
    ]


def test_parts_of_two_snapshots_are_never_mixed(run):
    assert _between(run["calls"], "mixed", "refused") == [["snapshot", ["sensor.b0", "sensor.b1"]]]


def test_too_many_parts_misplaced_parts_and_changed_counts_are_refused(run):
    assert _between(run["calls"], "refused", "end") == []
    assert run["parts_as_text"] == "refused"


def test_snapshots_being_assembled_are_bounded(run):
    assert run["pending_after_flood"] == 2


def test_a_whole_snapshot_from_a_hub_before_parts_is_still_shown(run):
    assert run["legacy_whole"] == 1
    assert run["legacy_on_part_topic"] == "refused"
