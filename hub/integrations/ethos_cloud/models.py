"""Typed shapes of what the store sends: owned devices, tokens, device authorizations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
_HEX_SECRET = re.compile(r"^[0-9a-fA-F]{64}$")


class OwnedDevice(BaseModel):
    """One unit the linked account owns (``GET /api/v1/me/devices``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    serial: str = Field(min_length=1, max_length=40)
    sku: str = Field(max_length=40)
    name: str = Field(max_length=200)
    claim_secret: str = Field(repr=False)
    order_id: str | None = None

    @field_validator("serial")
    @classmethod
    def _serial_is_topic_safe(cls, value: str) -> str:
        if not SERIAL_PATTERN.match(value):
            raise ValueError("serial must be letters, digits, '-' or '_'")
        return value

    @field_validator("claim_secret")
    @classmethod
    def _secret_is_32_bytes_hex(cls, value: str) -> str:
        if not _HEX_SECRET.match(value):
            raise ValueError("claim_secret must be 64 hex digits")
        return value.lower()

    @property
    def secret_bytes(self) -> bytes:
        return bytes.fromhex(self.claim_secret)


OWNED_DEVICES = TypeAdapter(list[OwnedDevice])


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
