"""The vectors file is what the hub's code makes, and the code reads it back."""

from __future__ import annotations

import json

import pytest

from hub.integrations.ethos_remote.envelope import (
    EnvelopeError,
    HouseholdKey,
    ReplayGuard,
    b64decode,
    open_sealed,
)
from hub.integrations.ethos_remote.handshake import (
    check_digits,
    open_keys_message,
    private_key_from_bytes,
    wrap_key,
)
from tests.hub.ethos_remote.vectors import VECTORS_FILE, build_vectors

VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
KEY = HouseholdKey(VECTORS["household_key"]["kid"], b64decode(VECTORS["household_key"]["secret"]))


def test_vectors_file_is_what_the_code_makes() -> None:
    assert build_vectors() == VECTORS, "run: python -m tests.hub.ethos_remote.vectors"


@pytest.mark.parametrize("case", VECTORS["envelopes"], ids=lambda c: c["name"])
def test_each_envelope_opens_to_its_plaintext(case: dict) -> None:
    opened = open_sealed(KEY, case["topic"], case["payload_text"].encode())
    assert (opened.sender, opened.counter) == (case["sender"], case["counter"])
    assert opened.body == json.loads(case["plaintext_text"])


@pytest.mark.parametrize("case", VECTORS["refused"], ids=lambda c: c["why"])
def test_each_tampered_envelope_is_refused(case: dict) -> None:
    with pytest.raises(EnvelopeError):
        open_sealed(KEY, case["topic"], case["payload_text"].encode())


def test_deliveries_reordered_across_topics_are_accepted_and_replays_on_a_topic_refused() -> None:
    assert {case["outcome"] for case in VECTORS["deliveries"]} == {"accepted", "replay"}
    guard = ReplayGuard()
    outcomes = []
    for case in VECTORS["deliveries"]:
        opened = open_sealed(KEY, case["topic"], case["payload_text"].encode())
        accepted = guard.accept(opened.sender, case["topic"], opened.counter)
        outcomes.append("accepted" if accepted else "replay")
    assert outcomes == [case["outcome"] for case in VECTORS["deliveries"]]


def test_browser_side_unwraps_the_household_key_and_agrees_on_the_check() -> None:
    pairing = VECTORS["pairing"]
    browser_key = private_key_from_bytes(b64decode(pairing["browser_private_jwk"]["d"]))
    hub, browser = VECTORS["hub"], VECTORS["browser"]
    wrap = wrap_key(browser_key, b64decode(pairing["hub_pub"]), hub, browser)
    assert wrap == b64decode(pairing["wrap_key"])  # ECDH is symmetric: the browser's side
    assert open_keys_message(wrap, pairing["keys_text"].encode(), hub, browser) == KEY
    hub_raw, browser_raw = b64decode(pairing["hub_pub"]), b64decode(pairing["browser_pub"])
    assert check_digits(hub_raw, browser_raw) == pairing["check"]
    assert check_digits(browser_raw, hub_raw) != pairing["check"]  # the order is fixed
