"""Discovery configs, the claim HMAC and config.json handling."""

from __future__ import annotations

import hashlib
import hmac
import json
import re

import claim
import device_config
import ha_discovery
import pytest
from hypothesis import given
from hypothesis import strategies as st

SERIAL = "EPD-000123"
TOPIC_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def configs() -> dict[str, dict]:
    return {
        topic: json.loads(payload) for topic, payload in ha_discovery.discovery_messages(SERIAL)
    }


def test_every_config_follows_the_discovery_convention() -> None:
    found = configs()
    assert len(found) == 14
    unique_ids = set()
    for topic, config in found.items():
        prefix, component, node_id, object_id, suffix = topic.split("/")
        assert (prefix, node_id, suffix) == ("homeassistant", SERIAL, "config")
        assert TOPIC_ID.match(node_id) and TOPIC_ID.match(object_id)
        assert component in {"binary_sensor", "sensor", "number", "select"}
        assert config["device"]["identifiers"] == [f"ethos:{SERIAL}"]
        assert config["availability_topic"] == f"ethos/{SERIAL}/status"
        assert config["state_topic"] == f"ethos/{SERIAL}/{object_id}"
        unique_ids.add(config["unique_id"])
    assert len(unique_ids) == len(found)


def test_settings_are_controls_with_command_topics_and_ranges() -> None:
    found = configs()
    hold = found[f"homeassistant/number/{SERIAL}/hold_time/config"]
    assert hold["command_topic"] == f"ethos/{SERIAL}/set/hold_time"
    assert (hold["min"], hold["max"], hold["unit_of_measurement"]) == (1, 3600, "s")
    sensitivity = found[f"homeassistant/select/{SERIAL}/sensitivity/config"]
    assert sensitivity["options"] == ["low", "medium", "high"]
    occupancy = found[f"homeassistant/binary_sensor/{SERIAL}/occupancy/config"]
    assert occupancy["device_class"] == "occupancy"
    assert (occupancy["payload_on"], occupancy["payload_off"]) == ("ON", "OFF")


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_the_standard_library(key: bytes, message: bytes) -> None:
    expected = hmac.new(key, message, hashlib.sha256).digest()
    assert claim.hmac_sha256(key, message) == expected


def test_claim_answer_is_hex_hmac_of_the_nonce_and_bad_nonces_are_refused() -> None:
    secret = bytes(range(32))
    nonce = b"3f1c0e5a9b7d4c2e"
    assert claim.answer_challenge(secret, nonce) == hmac.new(secret, nonce, "sha256").hexdigest()
    for bad in (b"", b"short", b"x" * 129):
        with pytest.raises(ValueError, match="nonce"):
            claim.answer_challenge(secret, bad)


def _valid_config_text(**changes) -> str:
    data = {"serial": SERIAL, "claim_secret": "ab" * 32, "wifi": {"ssid": "home", "password": "pw"}}
    data.update(changes)
    return json.dumps(data)


def test_a_good_config_loads_without_problems() -> None:
    config, problems = device_config.load_config(_valid_config_text(settings={"hold_time": 30}))
    assert problems == []
    assert config["serial"] == SERIAL and config["wifi"]["ssid"] == "home"
    assert device_config.claim_secret_bytes(config) == b"\xab" * 32
    assert config["settings"]["hold_time"] == 30
    assert config["mqtt"]["port"] == 1883  # default kept


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (None, "missing"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
    ],
)
def test_missing_or_corrupt_config_falls_back_to_safe_defaults(text, problem) -> None:
    config, problems = device_config.load_config(text)
    assert problem in problems[0]
    assert config == device_config.default_config()
    assert device_config.claim_secret_bytes(config) is None


def test_bad_fields_are_reported_and_replaced_by_defaults() -> None:
    text = _valid_config_text(
        serial="bad serial!",
        claim_secret="zz" * 32,
        mqtt={"port": "1883"},
        settings={"hold_time": 99999, "sensitivity": "extreme"},
    )
    config, problems = device_config.load_config(text)
    joined = "; ".join(problems)
    for fragment in ("serial", "claim secret", "mqtt.port", "settings.hold_time", "sensitivity"):
        assert fragment in joined
    assert config["mqtt"]["port"] == 1883
    assert config["settings"] == device_config.default_settings()


@pytest.mark.parametrize(
    ("key", "payload", "expected"),
    [
        ("hold_time", b"30", 30),
        ("hold_time", b" 42.4 ", 42),
        ("on_latency", b"1.25", 1.2),
        ("max_distance", b"300", 300),
        ("max_distance", b"310", 300),  # snaps to a 75 cm gate
        ("sensitivity", b"HIGH", "high"),
    ],
)
def test_setting_payloads_are_parsed(key, payload, expected) -> None:
    assert device_config.parse_setting(key, payload) == expected


@pytest.mark.parametrize(
    ("key", "payload", "reason"),
    [
        ("hold_time", b"0", "out of range"),
        ("hold_time", b"nan", "out of range"),
        ("hold_time", b"soon", "not a number"),
        ("on_latency", b"\xff\xfe", "not text"),
        ("sensitivity", b"max", "one of"),
        ("colour", b"red", "unknown"),
    ],
)
def test_bad_setting_payloads_are_refused_with_a_reason(key, payload, reason) -> None:
    with pytest.raises(ValueError, match=reason):
        device_config.parse_setting(key, payload)
