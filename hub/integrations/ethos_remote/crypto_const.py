"""Constants of remote access's cryptography and pairing (fixed by REMOTE.md, issue #19).

The wire formats' labels and sizes live here; the uplink's own constants are in const.py.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

# Envelope --------------------------------------------------------------------------
ENVELOPE_VERSION: Final = 1
ENVELOPE_AAD_LABEL: Final = "ethos-remote-v1"
HUB_SENDER: Final = "hub"
# A payload larger than this is refused before it is parsed.
MAX_PAYLOAD_BYTES: Final = 64 * 1024
KEY_BYTES: Final = 32  # AES-256-GCM
KID_HEX_CHARS: Final = 16
IV_BYTES: Final = 12
TAG_BYTES: Final = 16
# Snapshot parts: a snapshot too large for one envelope goes out in parts (REMOTE.md).
MAX_SNAPSHOT_PARTS: Final = 16  # 1 MiB sealed at most: receivers refuse more parts
SNAPSHOT_ID_HEX_CHARS: Final = 16
# The envelope's JSON around its ciphertext, with room to spare (a 16-digit counter).
ENVELOPE_OVERHEAD_BYTES: Final = 128
# The largest plaintext whose envelope stays within MAX_PAYLOAD_BYTES (base64url: 4 per 3).
MAX_PLAINTEXT_BYTES: Final = (MAX_PAYLOAD_BYTES - ENVELOPE_OVERHEAD_BYTES) * 3 // 4 - TAG_BYTES
# A browser's command more than this far from the hub's clock is refused.
COMMAND_WINDOW_US: Final = 120 * 1_000_000
# (sender, topic) pairs whose last counter a ReplayGuard remembers; the least recently heard
# is forgotten first (and its counter becomes the floor every unknown pair must pass). A
# browser hears 18 hub topics; the hub one command topic per paired browser (at most 64).
REPLAY_MAX_STREAMS: Final = 1024

# Pairing ---------------------------------------------------------------------------
PAIRING_VERSION: Final = 1
CROCKFORD_ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PAIRING_CODE_CHARS: Final = 10  # 50 bits, shown as XXXXX-XXXXX
PAIRING_CODE_LIFETIME: Final = timedelta(minutes=10)
PAIRING_CODE_TRIES: Final = 5
# Codes open at once across all people (one per person).
PAIRING_MAX_OPEN_CODES: Final = 8
PAIRING_SALT_PREFIX: Final = "ethos-pair-v1:"
PBKDF2_ITERATIONS: Final = 100_000
HELLO_LABEL: Final = "hello"
WELCOME_LABEL: Final = "welcome"
CHECK_MODULUS: Final = 1_000_000
CHECK_DIGITS: Final = 6
WRAP_INFO_PREFIX: Final = "ethos-wrap-v1:"
KEYS_AAD_LABEL: Final = "ethos-key-v1"
# Hellos checked per minute at most: each may cost a PBKDF2 (~50 ms on a Pi) and a MAC.
HELLO_MAX_PER_MINUTE: Final = 30
HELLO_RATE_WINDOW_S: Final = 60.0
MAX_HELLO_BYTES: Final = 4096
MAX_BROWSER_NAME_CHARS: Final = 120
BROWSER_ID_HEX_CHARS: Final = 32
EC_POINT_BYTES: Final = 65  # uncompressed P-256 point: 0x04 || x || y
# Browsers paired at once; pairing one more is refused until one is removed.
MAX_PAIRED_BROWSERS: Final = 64

# Topics (under ethos-home/<hub>/) --------------------------------------------------
TOPIC_ROOT: Final = "ethos-home"
TOPIC_KEYS: Final = "keys"
TOPIC_PAIR: Final = "pair"
TOPIC_HELLO: Final = "hello"
TOPIC_WELCOME: Final = "welcome"

# Key store -------------------------------------------------------------------------
KEYSTORE_STORAGE_KEY: Final = "ethos_remote.keys"
KEYSTORE_STORAGE_VERSION: Final = 1
