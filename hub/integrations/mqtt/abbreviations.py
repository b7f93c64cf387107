"""Home Assistant discovery: abbreviated keys and the ``~`` base topic, expanded."""

from __future__ import annotations

from typing import Any

CONFIG_ABBREVIATIONS: dict[str, str] = {
    "avty": "availability",
    "avty_mode": "availability_mode",
    "avty_t": "availability_topic",
    "avty_tpl": "availability_template",
    "bri_cmd_t": "brightness_command_topic",
    "bri_cmd_tpl": "brightness_command_template",
    "bri_scl": "brightness_scale",
    "bri_stat_t": "brightness_state_topic",
    "bri_val_tpl": "brightness_value_template",
    "bri": "brightness",
    "cmd_t": "command_topic",
    "cmd_tpl": "command_template",
    "cmps": "components",
    "def_ent_id": "default_entity_id",
    "dev": "device",
    "dev_cla": "device_class",
    "e": "encoding",
    "en": "enabled_by_default",
    "ent_cat": "entity_category",
    "exp_aft": "expire_after",
    "frc_upd": "force_update",
    "ic": "icon",
    "json_attr_t": "json_attributes_topic",
    "json_attr_tpl": "json_attributes_template",
    "o": "origin",
    "obj_id": "object_id",
    "off_dly": "off_delay",
    "on_cmd_type": "on_command_type",
    "opt": "optimistic",
    "ops": "options",
    "p": "platform",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "pl_off": "payload_off",
    "pl_on": "payload_on",
    "pl_prs": "payload_press",
    "pl_rst": "payload_reset",
    "ret": "retain",
    "stat_cla": "state_class",
    "stat_off": "state_off",
    "stat_on": "state_on",
    "stat_t": "state_topic",
    "stat_tpl": "state_template",
    "stat_val_tpl": "state_value_template",
    "sug_dsp_prc": "suggested_display_precision",
    "uniq_id": "unique_id",
    "unit_of_meas": "unit_of_measurement",
    "val_tpl": "value_template",
}

DEVICE_ABBREVIATIONS: dict[str, str] = {
    "cns": "connections",
    "cu": "configuration_url",
    "hw": "hw_version",
    "ids": "identifiers",
    "mdl": "model",
    "mdl_id": "model_id",
    "mf": "manufacturer",
    "sa": "suggested_area",
    "sn": "serial_number",
    "sw": "sw_version",
    "via_device": "via_device",
}

ORIGIN_ABBREVIATIONS: dict[str, str] = {"sw": "sw_version", "url": "support_url"}

AVAILABILITY_ABBREVIATIONS: dict[str, str] = {
    "t": "topic",
    "pl_avail": "payload_available",
    "pl_not_avail": "payload_not_available",
    "val_tpl": "value_template",
}

BASE_TOPIC = "~"


def _expand_keys(block: dict[str, Any], table: dict[str, str]) -> dict[str, Any]:
    return {table.get(key, key): value for key, value in block.items()}


def _expand_base(block: dict[str, Any], base: str | None) -> None:
    if base is None:
        return
    for key, value in block.items():
        if (key == "topic" or key.endswith("_topic")) and isinstance(value, str):
            if value.startswith(BASE_TOPIC):
                block[key] = base + value[len(BASE_TOPIC) :]
            elif value.endswith(BASE_TOPIC):
                block[key] = value[: -len(BASE_TOPIC)] + base


def expand_config(raw: dict[str, Any], inherited_base: str | None = None) -> dict[str, Any]:
    """Long keys everywhere, ``~`` substituted in topics (availability items included)."""
    config = _expand_keys(raw, CONFIG_ABBREVIATIONS)
    base = config.pop(BASE_TOPIC, inherited_base)
    if base is not None and not isinstance(base, str):
        raise ValueError("'~' must be a string")
    _expand_base(config, base)
    if isinstance(config.get("device"), dict):
        config["device"] = _expand_keys(config["device"], DEVICE_ABBREVIATIONS)
    if isinstance(config.get("origin"), dict):
        config["origin"] = _expand_keys(config["origin"], ORIGIN_ABBREVIATIONS)
    availability = config.get("availability")
    if isinstance(availability, list):
        expanded = []
        for item in availability:
            if isinstance(item, dict):
                item = _expand_keys(item, AVAILABILITY_ABBREVIATIONS)
                _expand_base(item, base)
            expanded.append(item)
        config["availability"] = expanded
    if base is not None:
        config[BASE_TOPIC] = base  # device form: components inherit it
    return config
