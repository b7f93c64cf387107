"""Constants of the Ethos presence detector: topics, defaults, setting ranges.

Copied flat onto the device next to the other firmware files; imports nothing.
"""

FIRMWARE_VERSION = "0.1.0"
MANUFACTURER = "Ethos"
MODEL = "Ethos Presence EPD-1"
SKU = "EPD-1"

TOPIC_ROOT = "ethos"
DISCOVERY_PREFIX = "homeassistant"
PAYLOAD_ONLINE = "online"
PAYLOAD_OFFLINE = "offline"
PAYLOAD_ON = "ON"
PAYLOAD_OFF = "OFF"

# Radar gates are 0.75 m each; the LD2410 has gates 0..8.
GATE_CM = 75
MAX_GATE = 8

# Run-time settings the hub shows as controls. The device echoes each applied value on
# ethos/<serial>/<key>. kind, minimum, maximum, step, default, unit.
SETTING_HOLD_TIME = "hold_time"
SETTING_ON_LATENCY = "on_latency"
SETTING_MAX_DISTANCE = "max_distance"
SETTING_SENSITIVITY = "sensitivity"

NUMBER_SETTINGS = {
    SETTING_HOLD_TIME: (1, 3600, 1, 15, "s"),
    SETTING_ON_LATENCY: (0, 10, 0.1, 0.5, "s"),
    SETTING_MAX_DISTANCE: (75, 600, 75, 600, "cm"),
}
SETTING_KEYS = tuple(NUMBER_SETTINGS) + (SETTING_SENSITIVITY,)
SENSITIVITY_OPTIONS = ("low", "medium", "high")
DEFAULT_SENSITIVITY = "medium"
# sensitivity -> (radar moving threshold, radar still threshold, minimum energy for fusion).
# On the LD2410 a lower threshold means more sensitive.
SENSITIVITY_LEVELS = {
    "low": (70, 60, 50),
    "medium": (50, 40, 30),
    "high": (30, 20, 10),
}

DEFAULT_PIR_DEBOUNCE_MS = 60
RADAR_STALE_MS = 2000
CLAIM_NONCE_MIN = 8
CLAIM_NONCE_MAX = 128
CLAIM_SECRET_BYTES = 32
# The broker password is hex HMAC-SHA256(claim_secret, this); the username is the serial.
BROKER_PASSWORD_CONTEXT = b"ethos-mqtt-v1"

# Measurements are published when they change, but at most this often.
MEASUREMENT_INTERVAL_MS = 1000
LOOP_INTERVAL_MS = 20
MQTT_KEEPALIVE_S = 30
BACKOFF_FIRST_MS = 1000
BACKOFF_MAX_MS = 60000

DEFAULT_RSSI_AT_1M = -65
DEFAULT_ABSORPTION = 2.7
BLE_WINDOW_MS = 10000
BLE_MAX_SAMPLES = 16
