"""Settings of remote access (a part of the cloud's settings): where the broker is."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloud.remote.broker_admin import split_admin_url

MQTT_SCHEMES = ("mqtt", "mqtts")
WS_SCHEMES = ("ws", "wss")
ADMIN_SCHEMES = ("http", "https")
# The browser URL goes into a Content-Security-Policy header as it is: nothing that could
# end the directive or start another.
_CSP_UNSAFE = re.compile(r"[\s;,'\"]")


class RemoteConfigError(ValueError):
    """A remote-access setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class RemoteSettings:
    """The broker's addresses; none set: remote access is off."""

    mqtt_url: str | None = None  # for hubs (ETHOS_REMOTE_BROKER_MQTT_URL)
    ws_url: str | None = None  # for browsers (ETHOS_REMOTE_BROKER_WS_URL)
    admin_url: str | None = None  # management API (ETHOS_REMOTE_BROKER_ADMIN_URL)
    admin_user: str | None = None
    admin_password: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RemoteSettings:
        return cls(
            mqtt_url=env.get("ETHOS_REMOTE_BROKER_MQTT_URL") or None,
            ws_url=env.get("ETHOS_REMOTE_BROKER_WS_URL") or None,
            admin_url=env.get("ETHOS_REMOTE_BROKER_ADMIN_URL") or None,
            admin_user=env.get("ETHOS_REMOTE_BROKER_ADMIN_USER") or None,
            admin_password=env.get("ETHOS_REMOTE_BROKER_ADMIN_PASSWORD") or None,
        )

    @property
    def configured(self) -> bool:
        """Hubs and browsers both have a broker to reach."""
        return bool(self.mqtt_url and self.ws_url)

    @property
    def admin_credentials(self) -> bool:
        """The management API has a user and password (the variables, or in its URL)."""
        if not self.admin_url:
            return False
        _base, user, password = split_admin_url(self.admin_url)
        return bool((self.admin_user or user) and (self.admin_password or password))

    def validate(self, production: bool) -> None:
        checks = (
            ("ETHOS_REMOTE_BROKER_MQTT_URL", self.mqtt_url, MQTT_SCHEMES),
            ("ETHOS_REMOTE_BROKER_WS_URL", self.ws_url, WS_SCHEMES),
            ("ETHOS_REMOTE_BROKER_ADMIN_URL", self.admin_url, ADMIN_SCHEMES),
        )
        for name, url, schemes in checks:
            if url is None:
                continue
            parts = urlsplit(url)
            if parts.scheme not in schemes or not parts.hostname:
                wanted = " or ".join(f"{scheme}://" for scheme in schemes)
                raise RemoteConfigError(f"{name} must be a {wanted} URL with a host")
        if self.ws_url and _CSP_UNSAFE.search(self.ws_url):
            raise RemoteConfigError(
                "ETHOS_REMOTE_BROKER_WS_URL may not hold spaces, quotes, commas or semicolons"
            )
        if bool(self.mqtt_url) != bool(self.ws_url):
            raise RemoteConfigError(
                "set both ETHOS_REMOTE_BROKER_MQTT_URL and ETHOS_REMOTE_BROKER_WS_URL "
                "(or neither: remote access off)"
            )
        if not production or not self.configured:
            return
        if not self.admin_credentials:
            raise RemoteConfigError(
                "ETHOS_ENV=production with remote access needs ETHOS_REMOTE_BROKER_ADMIN_URL "
                "and its credentials: without them revoked people stay connected"
            )
        if urlsplit(self.ws_url or "").scheme != "wss":
            raise RemoteConfigError("ETHOS_REMOTE_BROKER_WS_URL must be wss:// in production")
