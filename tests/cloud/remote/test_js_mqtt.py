"""The browser's MQTT 3.1.1 client (cloud/static/remote/mqtt.js, under Node): packet bytes as
the specification lays them out, decoding of what a broker sends (split or joined across
WebSocket messages), oversized packets skipped, and the client's reconnection after a refusal
with a fresh token."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cloud.remote.node import run_node_script


def _string(value: str) -> str:
    data = value.encode()
    return len(data).to_bytes(2, "big").hex() + data.hex()


# What a broker sends, written byte by byte from the specification.
BROKER_BYTES = {
    "connack_ok": "20020000",
    "connack_not_authorized": "20020105",
    "suback": "9004000a0080",
    "publish_retained": "31" + f"{2 + 3 + 2:02x}" + _string("t/x") + "6869",
    "publish_qos1": "32" + f"{2 + 3 + 2 + 1:02x}" + _string("t/x") + "0009" + "ff",
    "pingresp": "d000",
    "long_remaining_length": "30ffffffff7f",
    "qos3": "36" + "05" + _string("t/x"),
    "topic_past_end": "30" + "03" + "0009" + "61",
    "unexpected_type": "1000",
}


@pytest.fixture(scope="module")
def produced() -> dict[str, Any]:
    return run_node_script("mqtt_check.mjs", json.dumps(BROKER_BYTES))


def test_remaining_length_is_the_specifications_varint(produced):
    assert produced["remaining_lengths"] == {
        "0": "00",
        "127": "7f",
        "128": "8001",
        "16383": "ff7f",
        "16384": "808001",
        "2097151": "ffff7f",
        "2097152": "80808001",
        "268435455": "ffffff7f",
    }
    assert produced["remaining_length_too_big"] == "RangeError"


def test_connect_carries_protocol_level_4_clean_session_and_the_token_as_password(produced):
    variable_header = "00044d5154540" + "4" + "c2" + "001e"
    payload = _string("web-ab") + _string("user-1") + _string("tok")
    body = variable_header + payload
    assert produced["connect"] == "10" + f"{len(body) // 2:02x}" + body


def test_subscribe_publish_ping_and_disconnect_bytes(produced):
    subscribe = "0007" + _string("a/b") + "00" + _string("c/#") + "00"
    assert produced["subscribe"] == "82" + f"{len(subscribe) // 2:02x}" + subscribe
    assert produced["publish"] == "30" + "07" + _string("t/x") + "6869"
    assert produced["publish_retained"] == "31" + "07" + _string("t/x") + "0102"
    assert produced["pingreq"] == "c000"
    assert produced["disconnect"] == "e000"


def test_broker_packets_decode(produced):
    decoded = produced["decoded"]
    assert decoded["connack_ok"] == [{"type": 2, "sessionPresent": False, "returnCode": 0}]
    assert decoded["connack_not_authorized"] == [
        {"type": 2, "sessionPresent": True, "returnCode": 5}
    ]
    assert decoded["suback"] == [{"type": 9, "packetId": 10, "granted": [0, 128]}]
    assert decoded["publish_retained"] == [
        {"type": 3, "topic": "t/x", "payload": "6869", "retain": True, "dup": False, "qos": 0}
    ]
    assert decoded["publish_qos1"] == [
        {
            "type": 3,
            "topic": "t/x",
            "payload": "ff",
            "retain": False,
            "dup": False,
            "qos": 1,
            "packetId": 9,
        }
    ]
    assert decoded["pingresp"] == [{"type": 13}]


def test_malformed_broker_packets_are_protocol_errors(produced):
    for name in ("long_remaining_length", "qos3", "topic_past_end", "unexpected_type"):
        assert produced["decoded"][name] == "MqttProtocolError", name


def test_packets_split_across_messages_decode_the_same(produced):
    assert [packet["type"] for packet in produced["bytewise"]] == [2, 3, 9]
    assert produced["bytewise"][1]["payload"] == "6869"


def test_oversized_packet_is_skipped_without_buffering(produced):
    assert produced["oversized_dropped"] == 1
    assert produced["oversized_pending"] == 0
    assert [packet["payload"] for packet in produced["after_oversized"]] == ["6f6b"]


def test_backoff_doubles_from_one_second_to_a_minute_with_jitter(produced):
    assert produced["backoff"] == [
        [500, 1000],
        [1000, 2000],
        [2000, 4000],
        [16000, 32000],
        [30000, 60000],
        [30000, 60000],
    ]


def test_client_refused_gets_a_fresh_token_subscribes_and_receives(produced):
    client = produced["client"]
    events = client["events"]
    assert client["first_protocol"] == "mqtt"
    assert [
        "status",
        "refused",
        "the broker refused the sign-in (token expired or wrong)",
    ] in events
    assert client["tokens_fresh"] == [False, True]
    assert _string("token-2") in client["second_sent"][0]
    # After the second CONNACK: SUBSCRIBE of both topics, then the PUBLISH asked for.
    subscribe = "0001" + _string("home/a") + "00" + _string("home/b") + "00"
    assert client["second_sent"][1] == "82" + f"{len(subscribe) // 2:02x}" + subscribe
    assert client["second_sent"][2].startswith("30")
    assert ["refused", "home/b"] in events
    assert ["message", "t/x", "6869", True] in events
    assert produced["published_while_connected"] is True
    assert produced["published_when_stopped"] is False
    assert events[-1] == ["status", "stopped", ""]
    assert client["second_sent"][-1] == "e000"
