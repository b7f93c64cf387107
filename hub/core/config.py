"""Hub configuration, read once from the environment with safe local defaults."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

from hub.const import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLOUD_URL,
    DEFAULT_DATA_DIR,
    DEFAULT_HISTORY_COMMIT_INTERVAL_S,
    DEFAULT_HISTORY_RETENTION,
    DEFAULT_HOST,
    DEFAULT_PORT,
    ENV_CLOUD_URL,
    ENV_DATA_DIR,
    ENV_HUB_CLIENT_ID,
    ENV_HUB_HISTORY_COMMIT_SECONDS,
    ENV_HUB_HISTORY_DAYS,
    ENV_HUB_REDIRECT_URI,
    HUB_SUBDIR,
    WILDCARD_HOSTS,
)
from hub.core.loader import INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE

# The hub's name and address (documented in ``ethos hub serve --help``); integrations read
# their own settings from ``HubConfig.environ`` (each integration's ``settings``/``const``).
ENV_HUB_NAME = "ETHOS_HUB_NAME"
ENV_HUB_URL = "ETHOS_HUB_URL"
# How often the hub asks the store whether each signed-in person is still let in.
ENV_HUB_ACCOUNT_CHECK_MINUTES = "ETHOS_HUB_ACCOUNT_CHECK_MINUTES"
# Where the hub is, for automations' `sun` triggers and conditions, and its local time
# zone (for `time` triggers and conditions); an IANA name such as Europe/Paris.
ENV_HUB_LATITUDE = "ETHOS_HUB_LATITUDE"
ENV_HUB_LONGITUDE = "ETHOS_HUB_LONGITUDE"
ENV_HUB_TIME_ZONE = "ETHOS_HUB_TIME_ZONE"
DEFAULT_HUB_NAME = "Ethos hub"
DEFAULT_ACCOUNT_CHECK = timedelta(minutes=10)
# History commits: at least this often (memory holds what waits), at most this often.
MIN_COMMIT_INTERVAL_S = 0.1
MAX_COMMIT_INTERVAL_S = 300.0


@dataclass(frozen=True)
class HubConfig:
    """Everything the hub needs to start; tests build one directly."""

    data_dir: Path
    cloud_url: str = DEFAULT_CLOUD_URL
    client_id: str = DEFAULT_CLIENT_ID
    redirect_uri: str | None = None
    history_retention: timedelta = DEFAULT_HISTORY_RETENTION
    history_commit_interval: float = DEFAULT_HISTORY_COMMIT_INTERVAL_S  # seconds
    integrations: tuple[str, ...] | None = None  # None: every integration folder
    host: str = DEFAULT_HOST  # where the web UI listens (zeroconf advertises it)
    port: int = DEFAULT_PORT
    name: str = DEFAULT_HUB_NAME
    ui_url: str | None = None  # None: derived from host and port
    dashboards_dir: Path | None = None
    # A session used this long after its person's last check asks the store again (their
    # password reset or revoked access then ends it).
    account_check_interval: timedelta = DEFAULT_ACCOUNT_CHECK
    latitude: float | None = None  # None: `sun` triggers and conditions are refused
    longitude: float | None = None
    time_zone: str | None = None  # None: the system's local time zone
    # (folder, package) pairs searched for integrations; tests add their own.
    integration_sources: tuple[tuple[Path, str], ...] = ((INTEGRATIONS_DIR, INTEGRATIONS_PACKAGE),)
    # The environment the hub started with: each integration reads its own settings here
    # (MQTT_URL by mqtt, ETHOS_HUB_BLUETOOTH_ADAPTER by bluetooth, ...). Never shown.
    environ: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    @property
    def hub_dir(self) -> Path:
        """Where the hub keeps its own files: ``$ETHOS_DATA_DIR/hub``."""
        return self.data_dir / HUB_SUBDIR

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
    ) -> HubConfig:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR).expanduser()
        days = env.get(ENV_HUB_HISTORY_DAYS)
        retention = timedelta(days=float(days)) if days else DEFAULT_HISTORY_RETENTION
        commit_seconds = env.get(ENV_HUB_HISTORY_COMMIT_SECONDS)
        commit_interval = (
            min(max(float(commit_seconds), MIN_COMMIT_INTERVAL_S), MAX_COMMIT_INTERVAL_S)
            if commit_seconds
            else DEFAULT_HISTORY_COMMIT_INTERVAL_S
        )
        check_minutes = env.get(ENV_HUB_ACCOUNT_CHECK_MINUTES)
        account_check = (
            timedelta(minutes=max(float(check_minutes), 0.0))
            if check_minutes
            else DEFAULT_ACCOUNT_CHECK
        )
        ui_url = env.get(ENV_HUB_URL) or None
        redirect = env.get(ENV_HUB_REDIRECT_URI) or default_redirect_uri(host, port, ui_url)
        return cls(
            data_dir=data_dir,
            cloud_url=(env.get(ENV_CLOUD_URL) or DEFAULT_CLOUD_URL).rstrip("/"),
            client_id=env.get(ENV_HUB_CLIENT_ID) or DEFAULT_CLIENT_ID,
            redirect_uri=redirect,
            history_retention=retention,
            history_commit_interval=commit_interval,
            host=host,
            port=port,
            name=env.get(ENV_HUB_NAME) or DEFAULT_HUB_NAME,
            ui_url=ui_url,
            account_check_interval=account_check,
            latitude=_coordinate(env, ENV_HUB_LATITUDE, 90.0),
            longitude=_coordinate(env, ENV_HUB_LONGITUDE, 180.0),
            time_zone=env.get(ENV_HUB_TIME_ZONE) or None,
            environ=MappingProxyType(dict(env)),
        )


def default_redirect_uri(host: str, port: int, ui_url: str | None) -> str:
    """Where the store sends people back after sign-in: the hub's own URL when given; for a
    hub listening on every interface, its mDNS name (zeroconf answers for it), since the
    store refuses a redirect to a wildcard address."""
    if ui_url:
        return f"{ui_url.rstrip('/')}/auth/callback"
    if host in WILDCARD_HOSTS:
        host = f"{socket.gethostname().split('.')[0] or 'ethos-hub'}.local"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/auth/callback"


def _coordinate(env: Mapping[str, str], name: str, bound: float) -> float | None:
    text = env.get(name)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number of degrees, got {text[:40]!r}") from None
    if not -bound <= value <= bound:
        raise ValueError(f"{name} must be between -{bound:g} and {bound:g} degrees")
    return value
