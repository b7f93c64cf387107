"""Keys, defaults and limits of the MQTT integration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from hub.core.hub_data import HubKey

if TYPE_CHECKING:
    from hub.integrations.mqtt.discovery import DiscoveryPin

DOMAIN: Final = "mqtt"
DEFAULT_PREFIX: Final = "homeassistant"
# The integration's settings, read from the hub's environment (``settings.py``).
ENV_MQTT_URL: Final = "MQTT_URL"
ENV_DISCOVERY_PREFIX: Final = "ETHOS_HUB_DISCOVERY_PREFIX"
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
DISCOVERY_BATCH: Final = 50  # per turn of the event loop
MAX_PAYLOAD_BYTES: Final = 256 * 1024
MAX_TOPIC_BYTES: Final = 65_535

RECONNECT_FIRST_DELAY_S: Final = 1.0
RECONNECT_MAX_DELAY_S: Final = 60.0
FIRST_CONNECT_TIMEOUT_S: Final = 10.0
KEEPALIVE_S: Final = 60

# Broker identity: Mosquitto's dynamic-security plugin, administered by the hub over MQTT.
CONTROL_TOPIC_PREFIX: Final = "$CONTROL/"
DYNSEC_TOPIC: Final = "$CONTROL/dynamic-security/v1"
DYNSEC_RESPONSE_TOPIC: Final = "$CONTROL/dynamic-security/v1/response"
DYNSEC_TIMEOUT_S: Final = 5.0
# The hub's own role beside the plugin's admin role: publish and read every normal topic.
HUB_ROLE: Final = "ethos-hub"
# Roles the hub made for devices: one per device, named after its broker username.
DEVICE_ROLE_PREFIX: Final = "ethos-device-"
THIRD_PARTY_ROLE_PREFIX: Final = "ethos-thirdparty-"
THIRD_PARTY_USER_PREFIX: Final = "ext-"
# Fired after each check of the broker (every connection); data: {"enforced": bool}.
EVENT_BROKER_IDENTITY: Final = "mqtt_broker_identity"
# hub.data key where another integration (ethos_cloud) leaves a discovery pin to install.
DATA_DISCOVERY_PIN: Final[HubKey[DiscoveryPin]] = HubKey("mqtt_discovery_pin")

# Templates in discovery configs run in the bounded sandbox (hub.helpers.template).
TEMPLATE_MAX_SOURCE_CHARS: Final = 1024  # compiling costs ~10 us a character
TEMPLATE_CPU_SECONDS: Final = 0.005
TEMPLATE_MAX_ALLOCATED: Final = 1024 * 1024
TEMPLATE_MAX_ITERATIONS: Final = 10_000
TEMPLATE_CACHE_BYTES: Final = 4 * 1024 * 1024

# Admission of new discovery topics (admission.py). A new topic that adds an entity to
# the registry costs a token of its client (the node id of its topic; topics without
# one share a bucket) and one of the hub's; topics that add nothing get theirs back.
# Bursts cover a first start (known topics cost nothing); the rates, a person pairing
# devices. A client flooding the hub adds its burst, then half an entity a second.
DISCOVERY_CLIENT_BURST: Final = 64  # a big device (or a small bridge) at once
DISCOVERY_CLIENT_PER_S: Final = 0.5
DISCOVERY_SHARED_BURST: Final = 256
DISCOVERY_SHARED_PER_S: Final = 1.0
DISCOVERY_TOTAL_BURST: Final = 1024
DISCOVERY_TOTAL_PER_S: Final = 2.0
# New topics waiting for a token (latest payload per topic); beyond, refused and counted.
DISCOVERY_MAX_WAITING_PER_CLIENT: Final = 256
DISCOVERY_MAX_WAITING_SHARED: Final = 2_048
DISCOVERY_MAX_WAITING_BYTES: Final = 16 * 1024 * 1024
DISCOVERY_REFUSAL_LOG_S: Final = 60.0  # refusals are logged as one line per interval
DISCOVERY_WARNINGS_PER_INTERVAL: Final = 20  # bad configs logged one by one, then counted

# One request over MQTT (request.py): live replies waiting to be read; more are dropped.
REQUEST_QUEUE_SIZE: Final = 16
