"""The sealed envelope every remote payload travels in (REMOTE.md, "Envelope").

AES-256-GCM under the household key; the additional data binds the ciphertext to its topic,
key id, sender and counter, so a payload moved to another topic or replayed under another
counter fails its tag. Counters are microsecond UTC timestamps, strictly increasing per
sender; a ``ReplayGuard`` remembers the last one accepted from each sender on each topic
(MQTT orders messages per topic only), in bounded memory.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.integrations.ethos_remote.crypto_const import (
    ENVELOPE_AAD_LABEL,
    ENVELOPE_VERSION,
    IV_BYTES,
    KEY_BYTES,
    KID_HEX_CHARS,
    MAX_PAYLOAD_BYTES,
    REPLAY_MAX_STREAMS,
    TAG_BYTES,
)

_LOGGER = logging.getLogger(__name__)
_B64_CHARS = re.compile(r"[A-Za-z0-9_-]*")
_KID = re.compile(rf"[0-9a-f]{{{KID_HEX_CHARS}}}")
_SENDER = re.compile(r"[0-9a-z]{1,64}")
_ENVELOPE_KEYS = frozenset({"v", "kid", "from", "ctr", "iv", "ct"})
MAX_COUNTER = 2**53 - 1  # JavaScript's largest exact integer (Number.MAX_SAFE_INTEGER)


class EnvelopeError(ValueError):
    """A payload that is refused; the message says why, in words a person can read."""


def b64encode(raw: bytes) -> str:
    """base64url without padding (REMOTE.md's ``b64``)."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The bytes of a ``b64`` text; ValueError for anything but its one canonical spelling."""
    if not isinstance(text, str) or not _B64_CHARS.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url without padding")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as err:
        raise ValueError("not base64url without padding") from err
    if b64encode(raw) != text:  # unused low bits set: another spelling of the same bytes
        raise ValueError("not canonical base64url")
    return raw


def compact_json(value: Any) -> bytes:
    """UTF-8 JSON without spaces, as JavaScript's ``JSON.stringify`` writes it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(raw: bytes, what: str) -> Any:
    """JSON of a bounded payload; EnvelopeError (never RecursionError) when it is not."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise EnvelopeError(f"the {what} is not UTF-8 JSON") from err


@dataclass(frozen=True)
class HouseholdKey:
    """The key the hub and its paired browsers share; ``kid`` names it on the wire."""

    kid: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not _KID.fullmatch(self.kid):
            raise ValueError(f"a key id is {KID_HEX_CHARS} lowercase hex characters")
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise ValueError(f"a household key is {KEY_BYTES} bytes")

    @classmethod
    def generate(cls) -> HouseholdKey:
        return cls(os.urandom(KID_HEX_CHARS // 2).hex(), os.urandom(KEY_BYTES))


@dataclass(frozen=True)
class Opened:
    """What an envelope carried, once its tag was verified."""

    sender: str
    counter: int
    body: dict[str, Any]
    kid: str


def envelope_aad(topic: str, kid: str, sender: str, counter: int) -> bytes:
    return f"{ENVELOPE_AAD_LABEL}\n{topic}\n{kid}\n{sender}\n{counter}".encode()


def seal(
    key: HouseholdKey,
    topic: str,
    sender: str,
    counter: int,
    body: Mapping[str, Any],
    *,
    iv: bytes | None = None,
) -> bytes:
    """The envelope of ``body`` for ``topic``. ``iv`` is for test vectors only: a fresh
    random one is drawn otherwise (never reuse one under the same key)."""
    if not _SENDER.fullmatch(sender):
        raise ValueError("a sender is 'hub' or a browser id")
    if isinstance(counter, bool) or not 0 <= counter <= MAX_COUNTER:
        raise ValueError("a counter is a non-negative integer below 2**53")
    nonce = iv if iv is not None else os.urandom(IV_BYTES)
    if len(nonce) != IV_BYTES:
        raise ValueError(f"an iv is {IV_BYTES} bytes")
    sealed = AESGCM(key.secret).encrypt(
        nonce, compact_json(dict(body)), envelope_aad(topic, key.kid, sender, counter)
    )
    payload = compact_json(
        {
            "v": ENVELOPE_VERSION,
            "kid": key.kid,
            "from": sender,
            "ctr": counter,
            "iv": b64encode(nonce),
            "ct": b64encode(sealed),
        }
    )
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"the sealed message is {len(payload)} bytes, over {MAX_PAYLOAD_BYTES}")
    return payload


def _keys_by_kid(
    keys: HouseholdKey | Mapping[str, HouseholdKey] | Iterable[HouseholdKey],
) -> Mapping[str, HouseholdKey]:
    if isinstance(keys, HouseholdKey):
        return {keys.kid: keys}
    if isinstance(keys, Mapping):
        return keys
    return {key.kid: key for key in keys}


def open_sealed(
    keys: HouseholdKey | Mapping[str, HouseholdKey] | Iterable[HouseholdKey],
    topic: str,
    payload: bytes,
) -> Opened:
    """The verified content of an envelope received on ``topic``; EnvelopeError when it is
    too large (refused unread), not JSON, not an envelope, under an unknown key, or altered.
    Replays are the caller's ReplayGuard's to refuse."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise EnvelopeError(
            f"the message is {len(payload)} bytes; at most {MAX_PAYLOAD_BYTES} are read"
        )
    envelope = parse_json(bytes(payload), "message")
    if not isinstance(envelope, dict) or set(envelope) != _ENVELOPE_KEYS:
        raise EnvelopeError("the message is not an envelope (v, kid, from, ctr, iv, ct)")
    version, kid, sender, counter = (envelope[k] for k in ("v", "kid", "from", "ctr"))
    if version != ENVELOPE_VERSION or isinstance(version, bool):
        raise EnvelopeError(f"envelope version {version!r} is not understood")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        raise EnvelopeError("the envelope's key id is malformed")
    if not isinstance(sender, str) or not _SENDER.fullmatch(sender):
        raise EnvelopeError("the envelope's sender is malformed")
    if isinstance(counter, bool) or not isinstance(counter, int) or not 0 <= counter <= MAX_COUNTER:
        raise EnvelopeError("the envelope's counter is not a non-negative integer")
    try:
        iv, sealed = b64decode(envelope["iv"]), b64decode(envelope["ct"])
    except ValueError as err:
        raise EnvelopeError("the envelope's iv or ciphertext is not base64url") from err
    if len(iv) != IV_BYTES or len(sealed) < TAG_BYTES:
        raise EnvelopeError("the envelope's iv or ciphertext has the wrong length")
    key = _keys_by_kid(keys).get(kid)
    if key is None:
        raise EnvelopeError(f"the message is sealed under an unknown key ({kid})")
    try:
        plain = AESGCM(key.secret).decrypt(iv, sealed, envelope_aad(topic, kid, sender, counter))
    except InvalidTag as err:
        raise EnvelopeError(
            "the message cannot be authenticated: altered, replayed elsewhere, or sealed "
            "under another key"
        ) from err
    body = parse_json(plain, "sealed content")
    if not isinstance(body, dict):
        raise EnvelopeError("the sealed content is not a JSON object")
    return Opened(sender, counter, body, kid)


def utc_now_us() -> int:
    """Microseconds since the epoch, UTC."""
    return time.time_ns() // 1000


class CounterClock:
    """One sender's counters: ``max(last + 1, now_us)``, strictly increasing even when the
    wall clock stands still or steps back."""

    def __init__(self, clock: Callable[[], int] = utc_now_us, last: int = 0) -> None:
        self._clock = clock
        self._last = last

    def next(self) -> int:
        self._last = max(self._last + 1, self._clock())
        return self._last


class ReplayGuard:
    """The last counter accepted from each sender on each topic; refuses any counter not
    above it (REMOTE.md, "Envelope").

    MQTT keeps messages in order per topic only, not across topics (3.1.1 and 5.0, section
    4.6), so a reply sealed before an event may arrive after it: one counter per sender would
    take it for a replay. Per (sender, topic) it is sound: the AAD binds the topic, so a
    message cannot be moved to another topic, and on its own topic its order is kept.

    At most ``max_streams`` (sender, topic) pairs are remembered. Forgetting one would let its
    old messages in again, so the highest forgotten counter becomes the floor an unknown pair
    must pass (the least recently heard pair goes first: its counter is the oldest).
    """

    def __init__(self, max_streams: int = REPLAY_MAX_STREAMS) -> None:
        self._max_streams = max_streams
        self._last: OrderedDict[tuple[str, str], int] = OrderedDict()
        self._floor = -1

    def __len__(self) -> int:
        return len(self._last)

    def refusal(
        self,
        sender: str,
        topic: str,
        counter: int,
        *,
        now_us: int | None = None,
        window_us: int | None = None,
    ) -> str | None:
        """Why ``counter`` from ``sender`` on ``topic`` would be refused (a replay or, with
        ``window_us``, further than that from ``now_us``, default the clock now), or None.
        Changes nothing."""
        if window_us is not None:
            moment = now_us if now_us is not None else utc_now_us()
            if abs(counter - moment) > window_us:
                return (
                    f"the message's counter is {abs(counter - moment) / 1e6:.0f} s away from "
                    f"this clock (at most {window_us / 1e6:.0f} s): too old, or the clocks differ"
                )
        if counter <= self._last.get((sender, topic), self._floor):
            return "the message was already received (replayed counter)"
        return None

    def accept(
        self,
        sender: str,
        topic: str,
        counter: int,
        *,
        now_us: int | None = None,
        window_us: int | None = None,
    ) -> bool:
        """Record ``counter`` from ``sender`` on ``topic`` and return True, or False when
        ``refusal`` names a reason (nothing recorded)."""
        if self.refusal(sender, topic, counter, now_us=now_us, window_us=window_us) is not None:
            return False
        stream = (sender, topic)
        self._last[stream] = counter
        self._last.move_to_end(stream)
        while len(self._last) > self._max_streams:
            _, forgotten = self._last.popitem(last=False)
            self._floor = max(self._floor, forgotten)
        return True
