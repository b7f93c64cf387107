"""The broker's settings: both addresses or neither, safe in the CSP, production's demands."""

from __future__ import annotations

import pytest

from cloud.config import CloudSettings, ConfigError

BASE = {"ETHOS_REMOTE_BROKER_MQTT_URL": "mqtt://broker:1883"}


def _settings(tmp_path, **env: str) -> CloudSettings:
    return CloudSettings.from_env({"ETHOS_DATA_DIR": str(tmp_path), **env})


def test_none_set_is_remote_access_off(tmp_path):
    assert not _settings(tmp_path).remote.configured


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        (BASE, "ETHOS_REMOTE_BROKER_WS_URL"),
        ({**BASE, "ETHOS_REMOTE_BROKER_WS_URL": "http://broker/ws"}, "ETHOS_REMOTE_BROKER_WS_URL"),
        (
            {**BASE, "ETHOS_REMOTE_BROKER_WS_URL": "ws://broker/ws; script-src *"},
            "ETHOS_REMOTE_BROKER_WS_URL",
        ),
        (
            {
                "ETHOS_REMOTE_BROKER_MQTT_URL": "tcp://broker",
                "ETHOS_REMOTE_BROKER_WS_URL": "ws://b",
            },
            "ETHOS_REMOTE_BROKER_MQTT_URL",
        ),
        (
            {
                **BASE,
                "ETHOS_REMOTE_BROKER_WS_URL": "ws://broker/ws",
                "ETHOS_REMOTE_BROKER_ADMIN_URL": "ftp://broker",
            },
            "ETHOS_REMOTE_BROKER_ADMIN_URL",
        ),
    ],
)
def test_unusable_settings_name_the_variable(tmp_path, env, variable):
    with pytest.raises(ConfigError, match=variable):
        _settings(tmp_path, **env)


def test_both_addresses_turn_it_on(tmp_path):
    settings = _settings(tmp_path, **BASE, ETHOS_REMOTE_BROKER_WS_URL="ws://broker:15675/ws")
    assert settings.remote.configured


def test_production_needs_the_management_api_and_wss(tmp_path):
    production = {
        "ETHOS_ENV": "production",
        "ETHOS_SECRET_KEY": "x" * 40,
        "SMTP_URL": "smtp://mail:25",
        "ETHOS_BASE_URL": "https://shop.example",
        "BTCPAY_URL": "https://pay.example",
        "BTCPAY_API_KEY": "k" * 20,
        "BTCPAY_STORE_ID": "store",
        "BTCPAY_WEBHOOK_SECRET": "s" * 32,
        **BASE,
        "ETHOS_REMOTE_BROKER_WS_URL": "wss://broker/ws",
    }
    with pytest.raises(ConfigError, match="ETHOS_REMOTE_BROKER_ADMIN_URL"):
        _settings(tmp_path, **production)
    production["ETHOS_REMOTE_BROKER_ADMIN_URL"] = "https://admin:secret@broker:15672"
    try:
        _settings(tmp_path, **production)
    except ConfigError as err:  # another area's production demand, not ours
        assert "REMOTE" not in str(err)
