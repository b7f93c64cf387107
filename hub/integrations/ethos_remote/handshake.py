"""The pairing handshake's pure cryptography (REMOTE.md, "Pairing"), the same in the hub,
in the test browser and in the vectors: the pairing key from the code, the hello and welcome
MACs, the check digits both pages show, the wrap key and the keys message.

Nothing here keeps state or does I/O; PBKDF2 blocks for ~50 ms (run it in an executor).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hub.integrations.ethos_remote.crypto_const import (
    CHECK_DIGITS,
    CHECK_MODULUS,
    CROCKFORD_ALPHABET,
    EC_POINT_BYTES,
    HELLO_LABEL,
    IV_BYTES,
    KEY_BYTES,
    KEYS_AAD_LABEL,
    PAIRING_CODE_CHARS,
    PAIRING_SALT_PREFIX,
    PAIRING_VERSION,
    PBKDF2_ITERATIONS,
    TOPIC_HELLO,
    TOPIC_KEYS,
    TOPIC_PAIR,
    TOPIC_ROOT,
    TOPIC_WELCOME,
    WELCOME_LABEL,
    WRAP_INFO_PREFIX,
)
from hub.integrations.ethos_remote.envelope import (
    EnvelopeError,
    HouseholdKey,
    b64decode,
    b64encode,
    compact_json,
    parse_json,
)

# What people misread or mistype, as Crockford's base32 reads it.
_CROCKFORD_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


class Outgoing(NamedTuple):
    """One MQTT message to publish."""

    topic: str
    payload: bytes
    retain: bool


def remote_topic(hub: str, *parts: str) -> str:
    """``ethos-home/<hub>/<parts…>``."""
    return "/".join((TOPIC_ROOT, hub, *parts))


def keys_topic(hub: str, browser: str) -> str:
    return remote_topic(hub, TOPIC_KEYS, browser)


def hello_topic(hub: str, browser: str) -> str:
    return remote_topic(hub, TOPIC_PAIR, browser, TOPIC_HELLO)


def welcome_topic(hub: str, browser: str) -> str:
    return remote_topic(hub, TOPIC_PAIR, browser, TOPIC_WELCOME)


# The code -----------------------------------------------------------------------------
def new_pairing_code() -> str:
    """10 random Crockford base32 characters (50 bits), without the dash."""
    value = int.from_bytes(os.urandom(8), "big") >> (64 - 5 * PAIRING_CODE_CHARS)
    return "".join(
        CROCKFORD_ALPHABET[(value >> (5 * (PAIRING_CODE_CHARS - 1 - i))) & 31]
        for i in range(PAIRING_CODE_CHARS)
    )


def format_code(code: str) -> str:
    """``XXXXX-XXXXX``, as the hub's page shows it."""
    half = PAIRING_CODE_CHARS // 2
    return f"{code[:half]}-{code[half:]}"


def normalize_code(typed: str) -> str:
    """The code's 10 characters from what a person typed: upper case, without dashes or
    spaces, O read as 0 and I or L as 1. ValueError if it cannot be a code."""
    code = "".join(typed.split()).replace("-", "").upper().translate(_CROCKFORD_ALIASES)
    if len(code) != PAIRING_CODE_CHARS or any(c not in CROCKFORD_ALPHABET for c in code):
        raise ValueError(f"a pairing code is {PAIRING_CODE_CHARS} letters and digits")
    return code


def pairing_key(code: str, hub: str) -> bytes:
    """``pk`` = PBKDF2-HMAC-SHA256(code, "ethos-pair-v1:" + hub, 100 000, 32). Blocking."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=(PAIRING_SALT_PREFIX + hub).encode(),
        iterations=PBKDF2_ITERATIONS,
    )
    return kdf.derive(code.encode())


def _mac(pk: bytes, *fields: str) -> bytes:
    return hmac.new(pk, "\n".join(fields).encode(), hashlib.sha256).digest()


def hello_mac(pk: bytes, hub: str, browser: str, browser_pub: str, name: str) -> bytes:
    """HMAC-SHA256(pk, 'hello\\n'+hub+'\\n'+browser+'\\n'+pub+'\\n'+name); pub as b64 text."""
    return _mac(pk, HELLO_LABEL, hub, browser, browser_pub, name)


def welcome_mac(pk: bytes, hub: str, browser: str, hub_pub: str, browser_pub: str) -> bytes:
    """HMAC-SHA256(pk, 'welcome\\n'+hub+'\\n'+browser+'\\n'+hub_pub+'\\n'+browser_pub)."""
    return _mac(pk, WELCOME_LABEL, hub, browser, hub_pub, browser_pub)


def check_digits(hub_pub_raw: bytes, browser_pub_raw: bytes) -> str:
    """First 4 bytes of SHA-256(hub point ‖ browser point), big-endian, mod 10⁶, 6 digits."""
    digest = hashlib.sha256(hub_pub_raw + browser_pub_raw).digest()
    return str(int.from_bytes(digest[:4], "big") % CHECK_MODULUS).zfill(CHECK_DIGITS)


# Keys ---------------------------------------------------------------------------------
def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_key_from_bytes(raw: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 key whose private scalar is ``raw`` (32 bytes, big-endian)."""
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def private_key_bytes(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_numbers().private_value.to_bytes(32, "big")


def public_point(key: ec.EllipticCurvePrivateKey) -> bytes:
    """The 65-byte uncompressed point (0x04 ‖ x ‖ y), as WebCrypto's "raw" export gives it."""
    return key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public_point(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A peer's P-256 point; ValueError unless it is uncompressed and on the curve."""
    if len(raw) != EC_POINT_BYTES or raw[0] != 4:
        raise ValueError("a public key is a 65-byte uncompressed P-256 point")
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)


def wrap_key(
    private_key: ec.EllipticCurvePrivateKey, peer_pub_raw: bytes, hub: str, browser: str
) -> bytes:
    """HKDF-SHA256(ECDH x, salt = hub, info = "ethos-wrap-v1:" + browser, 32 bytes)."""
    shared = private_key.exchange(ec.ECDH(), load_public_point(peer_pub_raw))
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=hub.encode(),
        info=(WRAP_INFO_PREFIX + browser).encode(),
    ).derive(shared)


def _keys_aad(hub: str, browser: str, kid: str) -> bytes:
    return f"{KEYS_AAD_LABEL}\n{hub}\n{browser}\n{kid}".encode()


def seal_keys_message(
    wrap: bytes, household: HouseholdKey, hub: str, browser: str, *, iv: bytes | None = None
) -> bytes:
    """The keys message carrying ``household`` to one browser (``iv`` for vectors only)."""
    nonce = iv if iv is not None else os.urandom(IV_BYTES)
    wrapped = AESGCM(wrap).encrypt(nonce, household.secret, _keys_aad(hub, browser, household.kid))
    return compact_json(
        {
            "v": PAIRING_VERSION,
            "kid": household.kid,
            "iv": b64encode(nonce),
            "wrapped": b64encode(wrapped),
        }
    )


def open_keys_message(wrap: bytes, payload: bytes, hub: str, browser: str) -> HouseholdKey:
    """The household key a keys message carries; EnvelopeError if it is not one or fails."""
    message: Any = parse_json(payload, "keys message")
    if not isinstance(message, dict) or message.get("v") != PAIRING_VERSION:
        raise EnvelopeError("not a keys message")
    try:
        kid, iv, wrapped = message["kid"], b64decode(message["iv"]), b64decode(message["wrapped"])
        secret = AESGCM(wrap).decrypt(iv, wrapped, _keys_aad(hub, browser, str(kid)))
        return HouseholdKey(kid, secret)
    except (KeyError, ValueError, InvalidTag) as err:
        raise EnvelopeError("the keys message cannot be opened with this browser's key") from err
