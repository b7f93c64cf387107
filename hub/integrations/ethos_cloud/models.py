"""Typed shapes of what the store sends: owned devices, tokens, device authorizations."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from hub.helpers.ethos_serial import valid_serial

_HEX_SECRET = re.compile(r"^[0-9a-fA-F]{64}$")
# The store's MQTT client ids for a hub session (``hub-<hub>-<32 hex>``); bounded and plain.
MQTT_CLIENT_ID = re.compile(r"[0-9a-z-]{1,128}")


@dataclass(frozen=True, slots=True)
class OwnedDevice:
    """One unit the linked account owns (``GET /api/v1/me/devices``)."""

    serial: str
    sku: str
    name: str
    claim_secret: str = field(repr=False)
    order_id: str | None = None

    @classmethod
    def from_json(cls, raw: Any) -> OwnedDevice:
        """Checked: the serial names MQTT topics, the secret is 32 bytes; ValueError if not."""
        if not isinstance(raw, dict):
            raise ValueError("a device must be an object")
        serial, sku, name = raw.get("serial"), raw.get("sku"), raw.get("name")
        secret, order_id = raw.get("claim_secret"), raw.get("order_id")
        if not isinstance(serial, str) or not valid_serial(serial):
            raise ValueError("serial must be 1-40 letters, digits, '-' or '_'")
        if not isinstance(sku, str) or len(sku) > 40:
            raise ValueError(f"{serial}: sku must be text of at most 40 characters")
        if not isinstance(name, str) or len(name) > 200:
            raise ValueError(f"{serial}: name must be text of at most 200 characters")
        if not isinstance(secret, str) or not _HEX_SECRET.match(secret):
            raise ValueError(f"{serial}: claim_secret must be 64 hex digits")
        if order_id is not None and not isinstance(order_id, str):
            raise ValueError(f"{serial}: order_id must be text")
        return cls(serial, sku, name, secret.lower(), order_id)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def secret_bytes(self) -> bytes:
        return bytes.fromhex(self.claim_secret)


def owned_devices_from_json(raw: Any) -> list[OwnedDevice]:
    """The store's device list, every entry checked (ValueError names the first problem)."""
    if not isinstance(raw, list):
        raise ValueError("the device list must be a list")
    return [OwnedDevice.from_json(item) for item in raw]


@dataclass(frozen=True)
class DeviceAuthorization:
    """The store's answer to the start of a device authorization grant (RFC 8628)."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_in: float
    scope: str


@dataclass(frozen=True)
class RegisteredClient:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class OwnedDevicesAnswer:
    """``devices`` is None when the store said "not modified" to our ETag."""

    devices: list[OwnedDevice] | None
    etag: str | None


@dataclass(frozen=True, slots=True)
class RemoteHubSession:
    """The store's answer to ``POST /api/v1/remote/hub-session`` (REMOTE.md): with remote
    access on, where the broker is and the hub's short-lived token; off: ``enabled=False``."""

    enabled: bool
    broker_url: str = ""
    token: str = field(default="", repr=False)
    expires_in: float = 0.0
    topic_root: str = ""
    client_id: str = ""  # the MQTT client id the token is tied to (new each session)

    @classmethod
    def from_json(cls, raw: Any) -> RemoteHubSession:
        """ValueError when the answer cannot be used."""
        if not isinstance(raw, dict):
            raise ValueError("the answer is not an object")
        if raw.get("enabled") is False:
            return cls(enabled=False)
        url, token, root = raw.get("broker_url"), raw.get("token"), raw.get("topic_root")
        expires_in = raw.get("expires_in")
        if not isinstance(url, str) or not url.startswith(("mqtt://", "mqtts://")):
            raise ValueError("broker_url must be an mqtt:// or mqtts:// URL")
        if not isinstance(token, str) or not token or len(token) > 8192:
            raise ValueError("token is missing")
        if not isinstance(root, str) or not root:
            raise ValueError("topic_root is missing")
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise ValueError("expires_in must be a number")
        if expires_in <= 0:
            raise ValueError("expires_in must be positive")
        client_id = raw.get("client_id")
        if not isinstance(client_id, str) or not MQTT_CLIENT_ID.fullmatch(client_id):
            raise ValueError("client_id must be the session's MQTT client id")
        return cls(True, url, token, float(expires_in), root, client_id)
