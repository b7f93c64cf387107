"""Configuration from the environment: safe defaults, production refuses unsafe settings."""

from __future__ import annotations

import pytest

from cloud.config import CloudSettings, ConfigError


def test_local_defaults(tmp_path):
    settings = CloudSettings.from_env({"ETHOS_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'cloud.db'}"
    assert settings.smtp_url is None and settings.outbox_dir == tmp_path / "outbox"
    assert settings.base_url == "http://127.0.0.1:8080"
    assert not settings.production and not settings.secure_cookies


def test_plain_postgres_url_gets_async_driver(tmp_path):
    settings = CloudSettings.from_env(
        {"ETHOS_DATA_DIR": str(tmp_path), "DATABASE_URL": "postgresql://u@db:5432/ethos"}
    )
    assert settings.database_url == "postgresql+asyncpg://u@db:5432/ethos"


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({"SMTP_URL": "smtp://mail:25"}, "ETHOS_SECRET_KEY"),
        ({"ETHOS_SECRET_KEY": "x" * 40}, "SMTP_URL"),
        ({"ETHOS_SECRET_KEY": "short", "SMTP_URL": "smtp://mail:25"}, "ETHOS_SECRET_KEY"),
    ],
)
def test_production_refuses_unsafe_settings(tmp_path, env, complaint):
    with pytest.raises(ConfigError, match=complaint):
        CloudSettings.from_env({"ETHOS_DATA_DIR": str(tmp_path), "ETHOS_ENV": "production", **env})


def test_production_with_real_settings_starts(tmp_path):
    settings = CloudSettings.from_env(
        {
            "ETHOS_DATA_DIR": str(tmp_path),
            "ETHOS_ENV": "production",
            "ETHOS_SECRET_KEY": "k" * 48,
            "SMTP_URL": "smtp://mail:25",
            "ETHOS_BASE_URL": "https://shop.example",
            "BTCPAY_URL": "https://btcpay.example",
            "BTCPAY_API_KEY": "a" * 40,
            "BTCPAY_STORE_ID": "store1",
            "BTCPAY_WEBHOOK_SECRET": "w" * 32,
        }
    )
    assert settings.production and settings.secure_cookies


def test_nonsense_values_name_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="ETHOS_ENV"):
        CloudSettings.from_env({"ETHOS_DATA_DIR": str(tmp_path), "ETHOS_ENV": "staging"})
    with pytest.raises(ConfigError, match="SMTP_URL"):
        CloudSettings.from_env({"ETHOS_DATA_DIR": str(tmp_path), "SMTP_URL": "mail:25"})
    with pytest.raises(ConfigError, match=r"ETHOS_TRUSTED_PROXIES: 'proxy\.lan'"):
        CloudSettings.from_env(
            {"ETHOS_DATA_DIR": str(tmp_path), "ETHOS_TRUSTED_PROXIES": "10.0.0.1, proxy.lan"}
        )


def test_trusted_proxies_are_addresses_and_networks(tmp_path):
    settings = CloudSettings.from_env(
        {"ETHOS_DATA_DIR": str(tmp_path), "ETHOS_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, ::1"}
    )
    assert [str(n) for n in settings.trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
