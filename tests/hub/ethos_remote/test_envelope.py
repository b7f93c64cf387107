"""The envelope: what it seals opens only on its topic, under its key, once."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.integrations.ethos_remote.crypto_const import COMMAND_WINDOW_US, MAX_PAYLOAD_BYTES
from hub.integrations.ethos_remote.envelope import (
    CounterClock,
    EnvelopeError,
    HouseholdKey,
    ReplayGuard,
    b64decode,
    b64encode,
    open_sealed,
    seal,
)

TOPIC = "ethos-home/0123456789abcdef0123456789abcdef/cmd/fedcba98765432100123456789abcdef"
BROWSER = "fedcba98765432100123456789abcdef"
KEY = HouseholdKey.generate()
BODY = {"type": "command", "id": "x", "entity_id": "switch.a", "service": "switch.turn_on"}


def _edit(payload: bytes, **changes: object) -> bytes:
    return json.dumps({**json.loads(payload), **changes}).encode()


def test_sealed_body_opens_with_sender_and_counter() -> None:
    opened = open_sealed(KEY, TOPIC, seal(KEY, TOPIC, BROWSER, 42, BODY))
    assert (opened.sender, opened.counter, opened.body, opened.kid) == (BROWSER, 42, BODY, KEY.kid)


def test_ciphertext_topic_counter_sender_changes_are_refused() -> None:
    payload = seal(KEY, TOPIC, BROWSER, 42, BODY)
    ct = json.loads(payload)["ct"]
    raw = bytearray(b64decode(ct))
    raw[0] ^= 1
    for tampered, topic in [
        (_edit(payload, ct=b64encode(bytes(raw))), TOPIC),
        (_edit(payload, ctr=43), TOPIC),
        (_edit(payload, **{"from": "hub"}), TOPIC),
        (payload, TOPIC.replace("/cmd/", "/reply/")),
    ]:
        with pytest.raises(EnvelopeError, match="cannot be authenticated"):
            open_sealed(KEY, topic, tampered)


def test_unknown_key_is_refused_and_a_set_of_keys_is_searched_by_kid() -> None:
    other = HouseholdKey.generate()
    payload = seal(KEY, TOPIC, BROWSER, 1, BODY)
    with pytest.raises(EnvelopeError, match="unknown key"):
        open_sealed(other, TOPIC, payload)
    assert open_sealed([other, KEY], TOPIC, payload).body == BODY
    assert open_sealed({KEY.kid: KEY}, TOPIC, payload).body == BODY


def test_same_kid_with_another_secret_fails_the_tag() -> None:
    impostor = HouseholdKey(KEY.kid, bytes(32))
    with pytest.raises(EnvelopeError, match="cannot be authenticated"):
        open_sealed(impostor, TOPIC, seal(KEY, TOPIC, BROWSER, 1, BODY))


def test_oversize_payload_is_refused_unread() -> None:
    # Not even JSON: refused for its size before any parsing.
    with pytest.raises(EnvelopeError, match="at most 65536"):
        open_sealed(KEY, TOPIC, b"[" * (MAX_PAYLOAD_BYTES + 1))


@pytest.mark.parametrize(
    "payload",
    [
        b"\xff\xfe",
        b"not json",
        b"[" * 60_000,  # deep nesting: a clear refusal, not a RecursionError
        b"[]",
        b'{"v":1}',
        b'{"v":2,"kid":"0011223344556677","from":"hub","ctr":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":-1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":true,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":1.5,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"00112233445566","from":"hub","ctr":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"HUB/#","ctr":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":1,"iv":"AAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":1,"iv":"AAAAAAAAAAAAAAA=","ct":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1,"kid":"0011223344556677","from":"hub","ctr":1,"iv":"AAAAAAAAAAAAAAAA","ct":"AAAAAAAAAAAAAAAAAAAAAA","x":1}',
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes) -> None:
    with pytest.raises(EnvelopeError) as refused:
        open_sealed(KEY, TOPIC, payload)
    assert str(refused.value)


def test_sealed_content_that_is_not_an_object_is_refused() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from hub.integrations.ethos_remote.envelope import envelope_aad

    iv = bytes(12)
    ct = AESGCM(KEY.secret).encrypt(iv, b"[1,2]", envelope_aad(TOPIC, KEY.kid, "hub", 1))
    payload = json.dumps(
        {"v": 1, "kid": KEY.kid, "from": "hub", "ctr": 1, "iv": b64encode(iv), "ct": b64encode(ct)}
    ).encode()
    with pytest.raises(EnvelopeError, match="not a JSON object"):
        open_sealed(KEY, TOPIC, payload)


def test_two_seals_of_the_same_body_differ() -> None:
    assert seal(KEY, TOPIC, "hub", 1, BODY) != seal(KEY, TOPIC, "hub", 1, BODY)


def test_counter_clock_is_strictly_increasing_when_the_clock_stands_or_steps_back() -> None:
    readings = iter([1_000, 1_000, 900, 2_000])
    clock = CounterClock(lambda: next(readings))
    assert [clock.next() for _ in range(4)] == [1_000, 1_001, 1_002, 2_000]


def test_counter_clock_reads_utc_microseconds() -> None:
    import time

    before = time.time_ns() // 1000
    assert CounterClock().next() >= before


HUB_ROOT = "ethos-home/0123456789abcdef0123456789abcdef"
EVENT, REPLY, STATE = f"{HUB_ROOT}/event", f"{HUB_ROOT}/reply/{BROWSER}", f"{HUB_ROOT}/state"


def test_replay_guard_refuses_a_counter_not_above_the_last_accepted_on_its_topic() -> None:
    guard = ReplayGuard()
    assert guard.accept(BROWSER, TOPIC, 10)
    assert guard.accept("hub", EVENT, 5)  # each sender has its own counters
    for replayed in (10, 9):
        assert "already received" in (guard.refusal(BROWSER, TOPIC, replayed) or "")
        assert not guard.accept(BROWSER, TOPIC, replayed)
    assert guard.refusal(BROWSER, TOPIC, 11) is None
    assert guard.accept(BROWSER, TOPIC, 11)


def test_a_message_overtaken_on_another_topic_is_still_accepted() -> None:
    """MQTT orders messages per topic only: a reply sealed before an event may arrive after
    it (RabbitMQ did, issue #19), and it is no replay."""
    guard = ReplayGuard()
    reply_ctr, event_ctr = 1_764_950_400_000_000, 1_764_950_400_000_005
    assert guard.accept("hub", EVENT, event_ctr)
    assert guard.refusal("hub", REPLY, reply_ctr) is None
    assert guard.accept("hub", REPLY, reply_ctr)
    # The same reply again, or an older one on its topic, is still a replay.
    assert not guard.accept("hub", REPLY, reply_ctr)
    assert not guard.accept("hub", REPLY, reply_ctr - 1)
    assert not guard.accept("hub", EVENT, event_ctr - 1)  # older, same topic: refused
    assert guard.accept("hub", EVENT, event_ctr + 1)


def test_a_retained_old_message_after_a_newer_one_on_its_topic_is_refused() -> None:
    guard = ReplayGuard()
    assert guard.accept("hub", STATE, 2_000)
    assert "already received" in (guard.refusal("hub", STATE, 1_000) or "")
    # An old part on another part's topic is fine: the snapshot id keeps parts apart.
    assert guard.accept("hub", f"{STATE}/1", 1_001)


def test_replay_guard_window_refuses_old_and_future_counters() -> None:
    guard = ReplayGuard()
    now = 1_764_950_400_000_000
    for counter in (now - COMMAND_WINDOW_US - 1, now + COMMAND_WINDOW_US + 1):
        reason = guard.refusal(BROWSER, TOPIC, counter, now_us=now, window_us=COMMAND_WINDOW_US)
        assert "away from this clock" in (reason or "")
        assert not guard.accept(BROWSER, TOPIC, counter, now_us=now, window_us=COMMAND_WINDOW_US)
    assert guard.accept(
        BROWSER, TOPIC, now - COMMAND_WINDOW_US, now_us=now, window_us=COMMAND_WINDOW_US
    )
    # Without now_us the window is around this machine's clock.
    assert not guard.accept("hub", EVENT, 1, window_us=COMMAND_WINDOW_US)
    assert guard.accept("hub", EVENT, CounterClock().next(), window_us=COMMAND_WINDOW_US)


def test_replay_guard_memory_is_bounded_and_forgotten_senders_cannot_replay() -> None:
    guard = ReplayGuard(max_streams=3)
    for i in range(10):
        assert guard.accept(f"{i:032x}", TOPIC, 100 + i)
    assert len(guard) == 3
    assert not guard.accept(f"{0:032x}", TOPIC, 100)  # forgotten, its old counter refused
    assert guard.accept(f"{0:032x}", TOPIC, 1_000)


def test_replay_guard_memory_is_bounded_over_many_topics_and_forgotten_ones_cannot_replay() -> None:
    guard = ReplayGuard(max_streams=4)
    topics = [f"{HUB_ROOT}/state/{n}" for n in range(1, 16)]
    for n, topic in enumerate(topics):
        assert guard.accept("hub", topic, 500 + n)
        assert guard.accept(BROWSER, topic, 500 + n)
    assert len(guard) == 4
    assert not guard.accept("hub", topics[0], 500)  # forgotten: the floor refuses it
    assert not guard.accept("hub", topics[-1], 514)  # remembered: a replay
    assert guard.accept("hub", topics[0], 1_000)
    assert len(guard) == 4


def test_household_key_hides_its_secret_and_checks_its_shape() -> None:
    assert KEY.secret.hex() not in repr(KEY)
    with pytest.raises(ValueError):
        HouseholdKey("XYZ", bytes(32))
    with pytest.raises(ValueError):
        HouseholdKey("0011223344556677", bytes(16))


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_ENVELOPE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "v": _JSON_VALUES | st.just(1),
        "kid": _JSON_VALUES | st.just(KEY.kid),
        "from": _JSON_VALUES | st.just("hub"),
        "ctr": _JSON_VALUES | st.integers(min_value=-5, max_value=2**64),
        "iv": _JSON_VALUES | st.binary(max_size=16).map(b64encode),
        "ct": _JSON_VALUES | st.binary(max_size=40).map(b64encode),
    },
)


@FUZZ
@given(st.binary(max_size=300) | _ENVELOPE_FIELDS.map(lambda d: json.dumps(d).encode()))
def test_any_payload_is_opened_or_refused_with_an_envelope_error(payload: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        open_sealed(KEY, TOPIC, payload)
