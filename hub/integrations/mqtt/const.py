"""Keys, defaults and limits of the MQTT integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "mqtt"
DEFAULT_PREFIX: Final = "homeassistant"
DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883

PAYLOAD_ONLINE: Final = "online"
PAYLOAD_OFFLINE: Final = "offline"

COMPONENTS: Final = frozenset(
    {"binary_sensor", "sensor", "switch", "light", "button", "number", "select"}
)

# Bounded everywhere: a burst costs dropped messages (counted), never unbounded memory.
MAX_QUEUED_OUTGOING: Final = 1_000
MAX_QUEUED_DISCOVERY: Final = 2_000
DISCOVERY_BATCH: Final = 500
MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_TOPIC_BYTES: Final = 65_535

RECONNECT_FIRST_DELAY_S: Final = 1.0
RECONNECT_MAX_DELAY_S: Final = 60.0
FIRST_CONNECT_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 60
