"""The browser's crypto.js (WebCrypto, under Node) against the vectors the hub's Python
implementation is tested with: byte-identical envelopes and pairing messages, the same check
digits and household key, and refusal of replayed, tampered, oversized and unknown-key
messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cloud.remote.node import run_node_script

VECTORS = Path(__file__).parents[2] / "hub" / "ethos_remote" / "vectors.json"


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    return json.loads(VECTORS.read_text())


@pytest.fixture(scope="module")
def computed() -> dict[str, Any]:
    return run_node_script("crypto_check.mjs", str(VECTORS))


def test_envelopes_sealed_in_the_browser_are_the_vectors_bytes(vectors, computed):
    assert len(computed["envelopes"]) == len(vectors["envelopes"]) >= 2
    for vector, ours in zip(vectors["envelopes"], computed["envelopes"], strict=True):
        assert ours["aad_text"] == vector["aad_text"], vector["name"]
        assert ours["sealed"] == vector["payload_text"], vector["name"]


def test_envelopes_of_the_vectors_open_to_their_plaintext(vectors, computed):
    for vector, ours in zip(vectors["envelopes"], computed["envelopes"], strict=True):
        assert ours["opened"] == json.loads(vector["plaintext_text"]), vector["name"]
        assert ours["sender"] == vector["sender"]


def test_a_browser_command_is_not_taken_for_the_hubs_message(vectors, computed):
    outcomes = {ours["name"]: ours["from_hub_only"] for ours in computed["envelopes"]}
    for vector in vectors["envelopes"]:
        expected = "accepted" if vector["sender"] == "hub" else "wrong_sender"
        assert outcomes[vector["name"]] == expected


def test_replayed_envelope_is_refused(vectors, computed):
    assert [ours["replayed"] for ours in computed["envelopes"]] == ["replay"] * len(
        vectors["envelopes"]
    )
    assert computed["older_counter"] == "replay"
    assert computed["later_counter"] == {"type": "later"}


def test_deliveries_reordered_across_topics_are_accepted_and_replays_on_a_topic_refused(
    vectors, computed
):
    """Issue #19: a reply overtaken by a later event on another topic is no replay."""
    assert computed["deliveries"] == [case["outcome"] for case in vectors["deliveries"]]


def test_replay_memory_is_bounded_over_many_topics(computed):
    assert computed["bounded"] == {
        "heard": ["accepted"] * 15,
        "remembered": 4,
        "forgotten_old": "replay",
        "remembered_old": "replay",
        "forgotten_new": "accepted",
        "remembered_after": 4,
    }


def test_the_same_message_opened_twice_at_once_is_accepted_once(computed):
    assert computed["concurrent_same"] == ["accepted", "replay"]


def test_tampered_and_unknown_kid_envelopes_of_the_vectors_are_refused(vectors, computed):
    assert len(computed["refused"]) == len(vectors["refused"]) > 0
    for ours in computed["refused"]:
        expected = "unknown_kid" if ours["why"] == "unknown kid" else "tampered"
        assert ours["outcome"] == expected, ours["why"]


def test_oversized_and_malformed_payloads_are_refused_unread(computed):
    assert computed["too_large"] == "too_large"
    assert computed["not_json"] == "malformed"
    assert computed["not_an_envelope"] == "malformed"


def test_send_counter_strictly_increases(vectors, computed):
    ctr = vectors["envelopes"][0]["counter"]
    assert computed["counters"] == [ctr + 1, ctr + 100]


def test_hello_is_the_vectors_bytes_however_the_code_is_typed(vectors, computed):
    hello = vectors["pairing"]["hello_text"]
    assert computed["hello_typed"] == computed["hello_shown"] == computed["hello_bare"] == hello
    assert computed["bad_code"] == "bad_code"
    assert computed["short_code"] == "bad_code"


def test_welcome_is_verified_and_gives_the_check_digits(vectors, computed):
    pairing = vectors["pairing"]
    assert computed["welcome"] == {"hub_pub": pairing["hub_pub"], "check": pairing["check"]}
    assert computed["check"] == pairing["check"]
    assert computed["welcome_wrong_code"] == "bad_mac"
    assert computed["welcome_other_key"] == "bad_mac"
    assert computed["welcome_wrong_check"] == "bad_check"


def test_keys_message_unwraps_to_the_household_key(vectors, computed):
    assert computed["unwrapped_kid"] == vectors["household_key"]["kid"]
    assert computed["unwrapped_opens"] == json.loads(vectors["envelopes"][0]["plaintext_text"])
    assert computed["keys_for_other_browser"] == "tampered"
    assert computed["keys_tampered"] == "tampered"


def test_browser_private_key_is_not_extractable(computed):
    assert computed["generated"] == {"private_extractable": False, "public_bytes": 65}
