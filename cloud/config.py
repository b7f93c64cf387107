"""Cloud configuration, read once from environment variables with safe local defaults."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cloud.oauth.settings import OAuthSettings
from cloud.ops.const import DEFAULT_LEASE_SECONDS, MAX_LEASE_SECONDS, MIN_LEASE_SECONDS
from cloud.payments.settings import BtcpaySettings
from cloud.remote.settings import RemoteSettings

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105 (marker value)
ENV_DEVELOPMENT = "development"
ENV_PRODUCTION = "production"


class ConfigError(ValueError):
    """Configuration that must not be used; the message says which variable and why."""


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "ethos"


@dataclass(frozen=True)
class CloudSettings:
    """Everything the cloud reads from its environment (see README, "Configuration")."""

    data_dir: Path
    base_url: str = "http://127.0.0.1:8080"
    database_url: str = ""
    database_schema: str | None = None
    smtp_url: str | None = None
    mail_from: str = "Ethos <no-reply@ethos.local>"
    secret_key: str = DEVELOPMENT_SECRET_KEY
    env: str = ENV_DEVELOPMENT
    session_days: int = 14
    max_body_bytes: int = 64 * 1024
    oauth: OAuthSettings = field(default_factory=OAuthSettings)  # the OIDC provider
    btcpay: BtcpaySettings = field(default_factory=BtcpaySettings)  # the payment server
    remote: RemoteSettings = field(default_factory=RemoteSettings)  # the remote-access broker
    reconcile_interval_seconds: float = 60.0
    # Once-only jobs (reconciler, mail, key rotation) move off a dead replica within ~1⅓ of this.
    job_lease_seconds: float = DEFAULT_LEASE_SECONDS
    # Bearer token of /metrics; unset: open in development, not served in production.
    metrics_token: str | None = None
    # Reverse proxies whose X-Forwarded-For names the real client (sign-in throttling).
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Shipping addresses are erased this many days after delivery.
    address_erase_days: int = 30
    # Operators are mailed when a product's free units fall to this (per product in /admin).
    low_stock_threshold: int = 3

    @property
    def production(self) -> bool:
        return self.env == ENV_PRODUCTION

    @property
    def secure_cookies(self) -> bool:
        return self.production or self.base_url.startswith("https://")

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CloudSettings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ETHOS_DATA_DIR") or default_data_dir()).expanduser()
        database_url = env.get("DATABASE_URL") or f"sqlite+aiosqlite:///{data_dir / 'cloud.db'}"
        settings = cls(
            data_dir=data_dir,
            base_url=(env.get("ETHOS_BASE_URL") or cls.base_url).rstrip("/"),
            database_url=normalise_database_url(database_url),
            database_schema=env.get("ETHOS_DB_SCHEMA") or None,
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("ETHOS_MAIL_FROM") or cls.mail_from,
            secret_key=env.get("ETHOS_SECRET_KEY") or DEVELOPMENT_SECRET_KEY,
            env=(env.get("ETHOS_ENV") or ENV_DEVELOPMENT).lower(),
            oauth=OAuthSettings.from_env(env, _int),
            btcpay=BtcpaySettings.from_env(env, _int),
            remote=RemoteSettings.from_env(env),
            reconcile_interval_seconds=float(_int(env, "ETHOS_RECONCILE_SECONDS", 60)),
            trusted_proxies=_networks(env, "ETHOS_TRUSTED_PROXIES"),
            job_lease_seconds=_float(env, "ETHOS_JOB_LEASE_SECONDS", DEFAULT_LEASE_SECONDS),
            metrics_token=env.get("ETHOS_METRICS_TOKEN") or None,
            address_erase_days=_int(env, "ETHOS_ADDRESS_ERASE_DAYS", 30),
            low_stock_threshold=_int(env, "ETHOS_LOW_STOCK_THRESHOLD", 3),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that are unsafe or meaningless, naming the variable."""
        if self.env not in (ENV_DEVELOPMENT, ENV_PRODUCTION):
            raise ConfigError(f"ETHOS_ENV must be 'development' or 'production', not {self.env!r}")
        if urlsplit(self.base_url).scheme not in ("http", "https"):
            raise ConfigError(f"ETHOS_BASE_URL must be an http(s) URL, not {self.base_url!r}")
        if self.smtp_url and urlsplit(self.smtp_url).scheme not in ("smtp", "smtps"):
            raise ConfigError("SMTP_URL must look like smtp://host:port or smtps://user:pw@host")
        self._validate_oauth(production=False)
        self._validate_btcpay(production=False)
        self._validate_remote()
        if self.reconcile_interval_seconds <= 0:
            raise ConfigError("ETHOS_RECONCILE_SECONDS must be positive")
        if not MIN_LEASE_SECONDS <= self.job_lease_seconds <= MAX_LEASE_SECONDS:
            raise ConfigError(
                f"ETHOS_JOB_LEASE_SECONDS must be between {MIN_LEASE_SECONDS:g} and "
                f"{MAX_LEASE_SECONDS:g}, not {self.job_lease_seconds:g}"
            )
        if self.address_erase_days < 0:
            raise ConfigError("ETHOS_ADDRESS_ERASE_DAYS must be 0 or more")
        if self.low_stock_threshold < 0:
            raise ConfigError("ETHOS_LOW_STOCK_THRESHOLD must be 0 or more")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise ConfigError("ETHOS_METRICS_TOKEN must be at least 16 characters")
        if not self.production:
            return
        if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32:
            raise ConfigError(
                "ETHOS_ENV=production needs ETHOS_SECRET_KEY set to a random value of "
                "at least 32 characters (the development default is refused)"
            )
        if not self.smtp_url:
            raise ConfigError("ETHOS_ENV=production needs SMTP_URL: mail cannot go to an outbox")
        self._validate_btcpay(production=True)
        self._validate_oauth(production=True)

    def _validate_btcpay(self, production: bool) -> None:
        try:
            self.btcpay.validate(production)
        except ValueError as err:
            raise ConfigError(str(err)) from err

    def _validate_remote(self) -> None:
        try:
            self.remote.validate(self.production)
        except ValueError as err:
            raise ConfigError(str(err)) from err

    def _validate_oauth(self, production: bool) -> None:
        try:
            self.oauth.validate(production, self.base_url)
        except ValueError as err:
            raise ConfigError(str(err)) from err


def _networks(
    env: Mapping[str, str], name: str
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or networks (CIDR), e.g. ``127.0.0.1, 10.0.0.0/8``."""
    networks = []
    for part in (env.get(name) or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError as err:
            raise ConfigError(f"{name}: {part.strip()!r} is not an address or network") from err
    return tuple(networks)


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from err


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as err:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from err
    if value != value:  # NaN compares unequal to itself and passes every bound
        raise ConfigError(f"{name} must be a number, not {raw!r}")
    return value


def normalise_database_url(url: str) -> str:
    """Accept plain postgresql:// and sqlite:// URLs and pick the async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url
