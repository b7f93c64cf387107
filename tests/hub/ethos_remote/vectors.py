"""The test vectors of remote access's cryptography, built from the hub's own code.

``vectors.json`` beside this file is what ``build_vectors()`` returns; a test checks they
are equal, so the file and the code cannot drift. The browser's JavaScript is tested against
the same file. Regenerate after a deliberate change of the wire format (and REMOTE.md):

    .venv/bin/python -m tests.hub.ethos_remote.vectors

Every byte string is ``b64`` (base64url without padding) unless its name says ``_text``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from hub.integrations.ethos_remote.crypto_const import HUB_SENDER
from hub.integrations.ethos_remote.envelope import (
    HouseholdKey,
    b64encode,
    compact_json,
    envelope_aad,
    seal,
)
from hub.integrations.ethos_remote.handshake import (
    check_digits,
    format_code,
    hello_mac,
    normalize_code,
    pairing_key,
    private_key_from_bytes,
    public_point,
    remote_topic,
    seal_keys_message,
    welcome_mac,
    wrap_key,
)

VECTORS_FILE = Path(__file__).with_name("vectors.json")

HUB = "0123456789abcdef0123456789abcdef"
BROWSER = "fedcba98765432100123456789abcdef"
HOUSEHOLD = HouseholdKey("0011223344556677", bytes(range(32)))
CODE = "7K3M9P2QXR"
TYPED_CODE = "7k3m9-p2qxr"
BROWSER_NAME = "Firefox on Linux"
# Fixed private scalars (SHA-256 of a label: below the curve order, never zero).
HUB_PRIVATE = hashlib.sha256(b"ethos remote vector: hub").digest()
BROWSER_PRIVATE = hashlib.sha256(b"ethos remote vector: browser").digest()


def _iv(label: str) -> bytes:
    return hashlib.sha256(label.encode()).digest()[:12]


def _jwk(private: bytes) -> dict[str, str]:
    """The key as a JWK, which WebCrypto imports (it cannot import a raw private key)."""
    point = public_point(private_key_from_bytes(private))
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64encode(point[1:33]),
        "y": b64encode(point[33:]),
        "d": b64encode(private),
    }


def _envelope_case(name: str, topic: str, sender: str, counter: int, body: Any) -> dict[str, Any]:
    iv = _iv(name)
    payload = seal(HOUSEHOLD, topic, sender, counter, body, iv=iv)
    return {
        "name": name,
        "topic": topic,
        "sender": sender,
        "counter": counter,
        "iv": b64encode(iv),
        "plaintext_text": compact_json(body).decode(),
        "aad_text": envelope_aad(topic, HOUSEHOLD.kid, sender, counter).decode(),
        "payload_text": payload.decode(),
    }


def _tampered(good: dict[str, Any]) -> list[dict[str, str]]:
    """Payloads a receiver must refuse, each with why."""
    envelope = json.loads(good["payload_text"])

    def variant(why: str, topic: str | None = None, **changes: Any) -> dict[str, str]:
        text = compact_json({**envelope, **changes}).decode()
        return {"why": why, "topic": topic or good["topic"], "payload_text": text}

    ct = envelope["ct"]
    flipped = ("B" if ct[0] == "A" else "A") + ct[1:]
    other_sender = BROWSER if envelope["from"] == HUB_SENDER else HUB_SENDER
    return [
        variant("ciphertext changed", ct=flipped),
        variant("counter changed (aad)", ctr=envelope["ctr"] + 1),
        variant("sender changed (aad)", **{"from": other_sender}),
        variant("moved to another topic", topic=remote_topic(HUB, "event")),
        variant("moved to another part's topic", topic=remote_topic(HUB, "state", "2")),
        variant("unknown kid", kid="ffffffffffffffff"),
        variant("iv changed", iv=b64encode(_iv("another"))),
    ]


def _deliveries() -> list[dict[str, Any]]:
    """Hub messages in the order one browser receives them, each with what it must make of
    it: MQTT orders per topic only, so a message overtaken on another topic is accepted and
    only one not above the last accepted on its own topic is a replay (REMOTE.md)."""
    base = 1764950402000000
    event, reply = remote_topic(HUB, "event"), remote_topic(HUB, "reply", BROWSER)
    state, part = remote_topic(HUB, "state"), remote_topic(HUB, "state", "1")
    steps = [
        ("event", event, 20, "accepted"),
        ("reply sealed before that event, overtaken on its topic", reply, 10, "accepted"),
        ("the same reply again", reply, 10, "replay"),
        ("an event sealed before the first one, delivered after it", event, 15, "replay"),
        ("snapshot", state, 30, "accepted"),
        ("an older retained snapshot on the same topic", state, 25, "replay"),
        ("an older part on its own topic, the first there", part, 26, "accepted"),
        ("the next event", event, 40, "accepted"),
    ]
    deliveries = []
    for why, topic, offset, outcome in steps:
        body = {"type": "reply", "id": "c1", "ok": True} if topic == reply else {"n": offset}
        iv = _iv(f"delivery {offset}")
        deliveries.append(
            {
                "why": why,
                "topic": topic,
                "counter": base + offset,
                "payload_text": seal(
                    HOUSEHOLD, topic, HUB_SENDER, base + offset, body, iv=iv
                ).decode(),
                "outcome": outcome,
            }
        )
    return deliveries


def build_vectors() -> dict[str, Any]:
    hub_key = private_key_from_bytes(HUB_PRIVATE)
    browser_key = private_key_from_bytes(BROWSER_PRIVATE)
    hub_pub_raw, browser_pub_raw = public_point(hub_key), public_point(browser_key)
    hub_pub, browser_pub = b64encode(hub_pub_raw), b64encode(browser_pub_raw)
    pk = pairing_key(normalize_code(TYPED_CODE), HUB)
    hello = {
        "v": 1,
        "browser": BROWSER,
        "name": BROWSER_NAME,
        "pub": browser_pub,
        "mac": b64encode(hello_mac(pk, HUB, BROWSER, browser_pub, BROWSER_NAME)),
    }
    check = check_digits(hub_pub_raw, browser_pub_raw)
    welcome = {
        "v": 1,
        "pub": hub_pub,
        "check": check,
        "mac": b64encode(welcome_mac(pk, HUB, BROWSER, hub_pub, browser_pub)),
    }
    wrap = wrap_key(hub_key, browser_pub_raw, HUB, BROWSER)
    keys_iv = _iv("keys")
    snapshot = _envelope_case(
        "hub snapshot",
        remote_topic(HUB, "state"),
        HUB_SENDER,
        1764950400000000,
        {
            "type": "snapshot",
            "sent_at": "2025-12-05T16:00:00+00:00",
            "hub_name": "Maison Ŝi",
            "snapshot": "5a17ed0123456789",
            "part": 0,
            "parts": 2,
            "entities": [],
        },
    )
    snapshot_part = _envelope_case(
        "hub snapshot, part 2 of 2",
        remote_topic(HUB, "state", "1"),
        HUB_SENDER,
        1764950400000001,
        {
            "type": "snapshot",
            "sent_at": "2025-12-05T16:00:00+00:00",
            "hub_name": "Maison Ŝi",
            "snapshot": "5a17ed0123456789",
            "part": 1,
            "parts": 2,
            "entities": [],
        },
    )
    command = _envelope_case(
        "browser command",
        remote_topic(HUB, "cmd", BROWSER),
        BROWSER,
        1764950401234567,
        {
            "type": "command",
            "id": "4f1c2a9e-8d7b-4c3a-9e2f-1a2b3c4d5e6f",
            "entity_id": "number.epd_000123_hold_time",
            "service": "number.set_value",
            "data": {"value": 30},
        },
    )
    return {
        "about": (
            "Remote access test vectors (REMOTE.md). Byte strings are base64url without "
            "padding unless the name ends in _text. Built by tests/hub/ethos_remote/vectors.py."
        ),
        "hub": HUB,
        "browser": BROWSER,
        "household_key": {"kid": HOUSEHOLD.kid, "secret": b64encode(HOUSEHOLD.secret)},
        "envelopes": [snapshot, command, snapshot_part],
        "refused": _tampered(snapshot) + _tampered(command),
        "deliveries": _deliveries(),
        "pairing": {
            "code": CODE,
            "code_shown": format_code(CODE),
            "code_typed": TYPED_CODE,
            "salt_text": "ethos-pair-v1:" + HUB,
            "iterations": 100_000,
            "pk": b64encode(pk),
            "hub_private_jwk": _jwk(HUB_PRIVATE),
            "browser_private_jwk": _jwk(BROWSER_PRIVATE),
            "hub_pub": hub_pub,
            "browser_pub": browser_pub,
            "hello_mac_input_text": f"hello\n{HUB}\n{BROWSER}\n{browser_pub}\n{BROWSER_NAME}",
            "hello_text": compact_json(hello).decode(),
            "welcome_mac_input_text": f"welcome\n{HUB}\n{BROWSER}\n{hub_pub}\n{browser_pub}",
            "welcome_text": compact_json(welcome).decode(),
            "check": check,
            "shared_secret": b64encode(hub_key.exchange(ec.ECDH(), browser_key.public_key())),
            "wrap_salt_text": HUB,
            "wrap_info_text": "ethos-wrap-v1:" + BROWSER,
            "wrap_key": b64encode(wrap),
            "keys_iv": b64encode(keys_iv),
            "keys_aad_text": f"ethos-key-v1\n{HUB}\n{BROWSER}\n{HOUSEHOLD.kid}",
            "keys_text": seal_keys_message(wrap, HOUSEHOLD, HUB, BROWSER, iv=keys_iv).decode(),
        },
    }


def main() -> None:
    VECTORS_FILE.write_text(
        json.dumps(build_vectors(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"wrote {VECTORS_FILE}")


if __name__ == "__main__":
    main()
