"""One home on /home without its DOM (cloud/static/remote/link.js under Node, a hub played with
WebCrypto): pairing with a code, the snapshot and events shown, replayed, tampered, foreign-key
and moved messages never shown, a command with its refusal and its success, "offline" after
90 s of silence, a reload whose retained snapshot comes before the keys, and a cleared keys
message asking to pair again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud.remote.node import run_node_script

OCCUPANCY = "binary_sensor.hall_occupancy"
HOLD_TIME = "number.hall_hold_time"


@pytest.fixture(scope="module")
def run() -> dict[str, Any]:
    return run_node_script("home_check.mjs")


def _between(calls: list[list[Any]], first: str, last: str | None) -> list[list[Any]]:
    start = calls.index(["mark", first]) + 1
    end = calls.index(["mark", last]) if last else len(calls)
    return calls[start:end]


def test_pairing_sends_a_hello_the_hub_verifies_and_shows_the_check_digits(run):
    calls = run["views"][0]
    assert run["subscribed_before_hello"] and run["hello_topic_ok"]
    assert run["hub_checked_hello_mac"] is True
    assert calls[:4] == [
        ["pair_form", None],
        ["pair_error", "a pairing code has 10 letters and digits, like ABCDE-12345"],
        ["pair_waiting"],
        ["paired", run["expected_check"]],
    ]
    assert run["stored_private_key_extractable"] is False


def test_snapshot_and_live_event_are_shown(run):
    calls = run["views"][0]
    assert ["snapshot", "Maison", [[OCCUPANCY, "off"], [HOLD_TIME, "60"]]] in calls
    assert calls[calls.index(["mark", "replay and forgeries follow"]) - 1] == [
        "entity",
        OCCUPANCY,
        "on",
    ]


def test_replayed_tampered_foreign_and_moved_messages_are_not_shown(run):
    assert _between(run["views"][0], "replay and forgeries follow", "command") == []


def test_command_is_sealed_for_the_hub_and_its_replies_shown(run):
    assert run["command_topic_ok"] and run["command_counter_near_clock"]
    assert run["command"] == {
        "type": "command",
        "id": "string",
        "entity_id": HOLD_TIME,
        "service": "number.set_value",
        "data": {"value": 30},
    }
    assert _between(run["views"][0], "command", "silence") == [
        ["reply", HOLD_TIME, "Hold time: sent, waiting for the home"],
        ["reply", HOLD_TIME, "Hold time: refused: guests may not change settings"],
        ["reply", HOLD_TIME, "Hold time: sent, waiting for the home"],
        ["entity", OCCUPANCY, "off"],  # sealed after the reply, came first (issue #19)
        ["reply", HOLD_TIME, "Hold time: done"],
    ]


def test_home_offline_after_90_s_of_silence_and_back_when_it_speaks(run):
    silence = _between(run["views"][0], "silence", "reload")
    assert silence[0] == ["offline", True, run["last_sent_at"]]
    assert silence[1][0] == "snapshot"
    assert silence[2][:2] == ["offline", False]
    assert len(silence) == 3


def test_reload_shows_the_retained_snapshot_once_the_keys_message_came(run):
    calls = run["views"][1]
    assert calls[:2] == [["waiting"], ["snapshot", "Maison", [[OCCUPANCY, "on"]]]]
    # keys, the snapshot's 16 part topics (exact: RabbitMQ retains for exact filters only),
    # events, replies
    assert len(run["reload_subscribed"]) == 3 + 16
    assert run["reload_subscribed"][1:4] == [
        "ethos-home/0123456789abcdef0123456789abcdef/state",
        "ethos-home/0123456789abcdef0123456789abcdef/state/1",
        "ethos-home/0123456789abcdef0123456789abcdef/state/2",
    ]


def test_cleared_keys_message_asks_to_pair_again_and_forgets_the_pairing(run):
    assert _between(run["views"][1], "keys cleared", None) == [["pair_form", "key_changed"]]
    assert run["pairing_after_clear"] is None


def test_hub_heard_without_a_key_for_this_browser_asks_to_pair_again(run):
    assert run["views"][2] == [["waiting"], ["pair_form", "key_changed"]]
