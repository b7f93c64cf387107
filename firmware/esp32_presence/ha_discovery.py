"""Home Assistant MQTT discovery configs for the presence detector.

Each entity is published retained on ``homeassistant/<component>/<serial>/<object>/config``
with the device block ``identifiers: ["ethos:<serial>"]`` and availability on
``ethos/<serial>/status``. Configs are produced one at a time so the device never holds
all of them in RAM.
"""

import json

from presence_const import (
    DISCOVERY_PREFIX,
    FIRMWARE_VERSION,
    MANUFACTURER,
    MODEL,
    NUMBER_SETTINGS,
    PAYLOAD_OFF,
    PAYLOAD_OFFLINE,
    PAYLOAD_ON,
    PAYLOAD_ONLINE,
    SENSITIVITY_OPTIONS,
    SETTING_KEYS,
    SETTING_SENSITIVITY,
    TOPIC_ROOT,
)

# (component, object id, name, extra keys)
_SENSORS = (
    ("binary_sensor", "occupancy", "Occupancy", {"device_class": "occupancy"}),
    ("binary_sensor", "pir", "Motion (PIR)", {"device_class": "motion"}),
    ("sensor", "target", "Radar target", {"icon": "mdi:radar"}),
    ("sensor", "moving_distance", "Moving distance", {"unit": "cm", "device_class": "distance"}),
    ("sensor", "still_distance", "Still distance", {"unit": "cm", "device_class": "distance"}),
    (
        "sensor",
        "detection_distance",
        "Detection distance",
        {"unit": "cm", "device_class": "distance"},
    ),
    ("sensor", "moving_energy", "Moving energy", {"unit": "%"}),
    ("sensor", "still_energy", "Still energy", {"unit": "%"}),
    ("sensor", "ble_distance", "Nearest phone", {"unit": "m", "device_class": "distance"}),
    ("sensor", "diagnostic", "Diagnostic", {"entity_category": "diagnostic"}),
)

_SETTING_NAMES = {
    "hold_time": "Hold time",
    "on_latency": "On latency",
    "max_distance": "Maximum distance",
    SETTING_SENSITIVITY: "Sensitivity",
}


def state_topic(serial: str, key: str) -> str:
    return "%s/%s/%s" % (TOPIC_ROOT, serial, key)


def command_topic(serial: str, key: str) -> str:
    return "%s/%s/set/%s" % (TOPIC_ROOT, serial, key)


def status_topic(serial: str) -> str:
    return state_topic(serial, "status")


def config_topic(
    component: str, serial: str, object_id: str, prefix: str = DISCOVERY_PREFIX
) -> str:
    return "%s/%s/%s/%s/config" % (prefix, component, serial, object_id)


def _device(serial: str) -> dict:
    return {
        "identifiers": ["ethos:" + serial],
        "manufacturer": MANUFACTURER,
        "model": MODEL,
        "name": "Ethos presence " + serial,
        "serial_number": serial,
        "sw_version": FIRMWARE_VERSION,
    }


def _base(serial: str, object_id: str, name: str) -> dict:
    return {
        "name": name,
        "unique_id": "ethos_%s_%s" % (serial.lower().replace("-", "_"), object_id),
        "object_id": "ethos_%s_%s" % (serial.lower().replace("-", "_"), object_id),
        "state_topic": state_topic(serial, object_id),
        "availability_topic": status_topic(serial),
        "payload_available": PAYLOAD_ONLINE,
        "payload_not_available": PAYLOAD_OFFLINE,
        "device": _device(serial),
        "origin": {"name": "ethos-esp32-presence", "sw_version": FIRMWARE_VERSION},
    }


def _sensor_config(serial: str, component: str, object_id: str, name: str, extra: dict) -> dict:
    config = _base(serial, object_id, name)
    if component == "binary_sensor":
        config["payload_on"] = PAYLOAD_ON
        config["payload_off"] = PAYLOAD_OFF
    for key, value in extra.items():
        if key == "unit":
            config["unit_of_measurement"] = value
            config["state_class"] = "measurement"
        else:
            config[key] = value
    return config


def _setting_config(serial: str, key: str) -> tuple:
    config = _base(serial, key, _SETTING_NAMES[key])
    config["command_topic"] = command_topic(serial, key)
    config["entity_category"] = "config"
    if key == SETTING_SENSITIVITY:
        config["options"] = list(SENSITIVITY_OPTIONS)
        return "select", config
    minimum, maximum, step, _default, unit = NUMBER_SETTINGS[key]
    config["min"] = minimum
    config["max"] = maximum
    config["step"] = step
    config["unit_of_measurement"] = unit
    config["mode"] = "box"
    return "number", config


def discovery_messages(serial: str, prefix: str = DISCOVERY_PREFIX):  # -> Iterator[(str, str)]
    """Yield (topic, JSON payload) for every entity of the device."""
    for component, object_id, name, extra in _SENSORS:
        config = _sensor_config(serial, component, object_id, name, extra)
        yield config_topic(component, serial, object_id, prefix), json.dumps(config)
    for key in SETTING_KEYS:
        component, config = _setting_config(serial, key)
        yield config_topic(component, serial, key, prefix), json.dumps(config)
