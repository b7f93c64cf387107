"""Discovery configs checked against their dataclasses: values taken as before (pydantic's lax
mode), problems named with where they are, and pins made by an earlier hub still matching."""

from __future__ import annotations

import pytest

from hub.integrations.ethos_cloud.pin import _fingerprint
from hub.integrations.mqtt.schema import NumberConfig, SensorConfig, validate
from hub.integrations.mqtt.validation import ConfigInvalid

DETECTOR = {
    "name": "Occupancy",
    "unique_id": "EPD-000123_occupancy",
    "state_topic": "ethos/EPD-000123/occupancy",
    "payload_on": "1",
    "payload_off": "0",
    "device_class": "occupancy",
    "availability_topic": "ethos/EPD-000123/status",
    "device": {
        "identifiers": ["ethos:EPD-000123"],
        "name": "Presence detector",
        "manufacturer": "Ethos",
        "model": "EPD-1",
        "sw_version": "1.0.0",
    },
}
HOLD_TIME = {
    "name": "Hold time",
    "unique_id": "EPD-000123_hold_time",
    "state_topic": "ethos/EPD-000123/hold_time",
    "command_topic": "ethos/EPD-000123/set/hold_time",
    "min": 1,
    "max": 600,
    "step": 1,
    "unit_of_measurement": "s",
    "mode": "box",
    "device": {"identifiers": "ethos:EPD-000123", "connections": [["mac", "24:0a:c4:00:00:01"]]},
    "availability": [{"topic": "ethos/EPD-000123/status"}],
    "qos": 1,
}
LAMP = {
    "name": "Lamp",
    "unique_id": "lamp1",
    "command_topic": "z2m/lamp/set",
    "state_topic": "z2m/lamp",
    "schema": "json",
    "brightness": True,
    "brightness_scale": 254,
}


@pytest.mark.parametrize(
    ("topic", "component", "config", "pinned_by_earlier_hub"),
    [
        (
            "homeassistant/binary_sensor/EPD-000123/occupancy/config",
            "binary_sensor",
            DETECTOR,
            "ff23364a4a0ae93b4526123fd642ca2c8a20e563ebebd8538e9e66bac4a8ca76",
        ),
        (
            "homeassistant/number/EPD-000123/hold_time/config",
            "number",
            HOLD_TIME,
            "e9b12cfa3d51ca818c4c3a5861f6b02f7efbaf1f79e1b258e0a1cd88a6f6a52f",
        ),
        (
            "homeassistant/light/z2m/lamp/config",
            "light",
            {**LAMP, "expire_after": 5},
            "7ac3fa015cbd90edf9476a9c69a2f608f6484af03f91735c4b4ccd46c7d2ed24",
        ),
    ],
)
def test_pins_made_by_the_earlier_hub_still_match(
    topic: str, component: str, config: dict, pinned_by_earlier_hub: str
) -> None:
    """A verified device's discovery is pinned by fingerprint (kept in the registry); the
    fingerprints the pydantic schema produced must come out the same, or every verified
    device would be held after the upgrade."""
    assert _fingerprint(topic, validate(component, config)) == pinned_by_earlier_hub


def test_values_are_taken_as_devices_send_them() -> None:
    number = validate(
        "number", {"cmd_t": "x", "command_topic": "n/set", "min": "0", "max": 10, "step": 0.5}
    )
    assert isinstance(number, NumberConfig)
    assert (number.min, number.max, number.step) == (0.0, 10.0, 0.5)
    sensor = validate("sensor", {"expire_after": 30.0, "force_update": "true", "retain": 1})
    assert isinstance(sensor, SensorConfig)
    assert (sensor.expire_after, sensor.force_update, sensor.retain) == (30, True, True)
    light = validate("light", LAMP)
    assert light.schema_ == "json"  # `schema` in the config
    detector = validate("binary_sensor", HOLD_TIME)
    assert detector.device is not None and detector.device.identifiers == ["ethos:EPD-000123"]
    assert detector.device.connections == [("mac", "24:0a:c4:00:00:01")]


@pytest.mark.parametrize(
    ("component", "config", "problem"),
    [
        ("sensor", {"name": 5}, "name: must be a string"),
        ("sensor", {"state_topic": "a/#"}, "state_topic: invalid topic 'a/#' (wildcards"),
        ("sensor", {"expire_after": 0}, "expire_after: must be greater than 0"),
        ("sensor", {"expire_after": 1.5}, "expire_after: must be a whole number"),
        ("sensor", {"qos": "1"}, "qos: must be one of 0, 1, 2"),
        ("switch", {"name": "No command"}, "command_topic: field required"),
        ("number", {"command_topic": "n", "min": 5, "max": 1}, ": min must be below max"),
        ("select", {"command_topic": "s", "options": []}, "options: needs at least 1"),
        (
            "sensor",
            {"device": {"connections": [["mac"]]}},
            "device.connections.0: must be a list of 2",
        ),
        (
            "sensor",
            {"availability": [{"topic": "+/status"}]},
            "availability.0.topic: invalid topic",
        ),
        ("sensor", {"unique_id": "u" * 256}, "unique_id: has at most 255 characters"),
    ],
)
def test_every_problem_is_named_where_it_is(component: str, config: dict, problem: str) -> None:
    with pytest.raises(ConfigInvalid) as refused:
        validate(component, config)
    assert problem in str(refused.value)


def test_unknown_keys_are_ignored_for_forward_compatibility() -> None:
    sensor = validate("sensor", {"name": "T", "some_future_key": {"x": 1}})
    assert sensor.name == "T"
