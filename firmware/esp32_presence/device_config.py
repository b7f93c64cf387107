"""config.json: load with safe defaults, validate, and range-check run-time settings.

A missing or corrupt file never stops the device: it runs with defaults and reports the
problem (serial console and the MQTT diagnostic topic). Settings arriving over MQTT are
parsed here; a bad value raises ValueError with a reason and changes nothing.
"""

import json

from presence_const import (
    CLAIM_SECRET_BYTES,
    DEFAULT_SENSITIVITY,
    DISCOVERY_PREFIX,
    NUMBER_SETTINGS,
    SENSITIVITY_OPTIONS,
    SETTING_SENSITIVITY,
)

DEFAULT_SERIAL = "EPD-UNSET"


def default_settings() -> dict:
    settings = {key: spec[3] for key, spec in NUMBER_SETTINGS.items()}
    settings[SETTING_SENSITIVITY] = DEFAULT_SENSITIVITY
    return settings


def default_config() -> dict:
    return {
        "serial": DEFAULT_SERIAL,
        "claim_secret": "",
        "wifi": {"ssid": "", "password": ""},
        "mqtt": {
            "host": "127.0.0.1",
            "port": 1883,
            "user": "",
            "password": "",
            "discovery_prefix": DISCOVERY_PREFIX,
        },
        "pins": {"radar_tx": 17, "radar_rx": 16, "pir": 27, "led": 2},
        "ble": {"targets": [], "absorption": 2.7, "advertise": True},
        "settings": default_settings(),
    }


def _is_serial(value: object) -> bool:
    if not isinstance(value, str) or not 3 <= len(value) <= 32:
        return False
    return all(char.isalpha() or char.isdigit() or char in "-_" for char in value)


def claim_secret_bytes(config: dict) -> bytes | None:
    """The 32-byte claim secret, or None when the config has none or a malformed one."""
    text = config.get("claim_secret") or ""
    if len(text) != 2 * CLAIM_SECRET_BYTES:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def parse_setting(key: str, payload: bytes | str) -> float | int | str:
    """Parse a command payload for setting ``key``; ValueError says why it was refused."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        try:
            payload = bytes(payload).decode()
        except UnicodeError:
            raise ValueError("payload is not text") from None
    text = payload.strip()
    if key == SETTING_SENSITIVITY:
        if text.lower() not in SENSITIVITY_OPTIONS:
            raise ValueError("must be one of " + ", ".join(SENSITIVITY_OPTIONS))
        return text.lower()
    spec = NUMBER_SETTINGS.get(key)
    if spec is None:
        raise ValueError("unknown setting")
    minimum, maximum, step = spec[0], spec[1], spec[2]
    try:
        value = float(text)
    except ValueError:
        raise ValueError("not a number") from None
    if value != value or not minimum <= value <= maximum:
        raise ValueError("out of range %s..%s" % (minimum, maximum))
    if isinstance(step, int):
        # Whole-number settings snap to their step (max distance moves in 75 cm gates).
        return round(value / step) * step
    return round(value, 1)


def _merge_section(target: dict, source: object, name: str, problems: list) -> None:
    if not isinstance(source, dict):
        problems.append(name + " is not an object")
        return
    for key, default in target.items():
        if key not in source:
            continue
        value = source[key]
        if isinstance(default, bool) != isinstance(value, bool) or (
            type(default) is not type(value)
            and not (isinstance(default, (int, float)) and isinstance(value, (int, float)))
        ):
            problems.append("%s.%s has the wrong type" % (name, key))
            continue
        target[key] = value


def load_config(text: str | None) -> tuple:
    """Return (config, problems). ``text`` None means the file is missing."""
    config = default_config()
    problems = []
    if text is None:
        problems.append("config.json missing: using safe defaults")
        return config, problems
    try:
        data = json.loads(text)
    except ValueError:
        problems.append("config.json is not valid JSON: using safe defaults")
        return config, problems
    if not isinstance(data, dict):
        problems.append("config.json is not an object: using safe defaults")
        return config, problems
    serial = data.get("serial")
    if _is_serial(serial):
        config["serial"] = serial
    else:
        problems.append("serial missing or invalid")
    secret = data.get("claim_secret", "")
    config["claim_secret"] = secret if isinstance(secret, str) else ""
    if claim_secret_bytes(config) is None:
        config["claim_secret"] = ""
        problems.append("claim secret missing or not 64 hex digits: claims cannot be answered")
    for section in ("wifi", "mqtt", "pins"):
        if section in data:
            _merge_section(config[section], data[section], section, problems)
    ble = data.get("ble")
    if isinstance(ble, dict):
        targets = ble.get("targets", [])
        if isinstance(targets, list) and all(isinstance(t, dict) for t in targets):
            config["ble"]["targets"] = targets
        else:
            problems.append("ble.targets must be a list of objects")
        _merge_section(
            config["ble"], {k: v for k, v in ble.items() if k != "targets"}, "ble", problems
        )
    settings = data.get("settings", {})
    if isinstance(settings, dict):
        for key, value in settings.items():
            try:
                config["settings"][key] = parse_setting(key, str(value))
            except ValueError as err:
                problems.append("settings.%s: %s (default kept)" % (key, err))
    return config, problems


def dump_config(config: dict) -> str:
    return json.dumps(config)
