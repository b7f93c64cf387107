"""Settings of the OpenID Connect provider (a part of the cloud's settings)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloud.oauth.const import REFRESH_GRACE_SECONDS

IntReader = Callable[[Mapping[str, str], str, int], int]


class OAuthConfigError(ValueError):
    """An OAuth setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class OAuthSettings:
    """Token lifetimes, key rotation, first-party redirect URIs (variables: cloud/cli.py)."""

    access_token_seconds: int = 300
    id_token_seconds: int = 300
    refresh_token_days: int = 30
    refresh_grace_seconds: int = REFRESH_GRACE_SECONDS  # 0: a rotated token never returns
    device_code_seconds: int = 600
    device_poll_seconds: int = 5
    key_rotation_days: int = 90
    mobile_redirect_uris: tuple[str, ...] = ()  # empty: <base_url>/app/callback
    worker_threads: int = 8  # Authlib runs in these (it is synchronous)

    @classmethod
    def from_env(cls, env: Mapping[str, str], read_int: IntReader) -> OAuthSettings:
        """`read_int(env, name, default)` is the cloud settings' whole-number parser."""
        return cls(
            access_token_seconds=read_int(env, "ETHOS_OAUTH_ACCESS_TOKEN_SECONDS", 300),
            id_token_seconds=read_int(env, "ETHOS_OAUTH_ID_TOKEN_SECONDS", 300),
            refresh_token_days=read_int(env, "ETHOS_OAUTH_REFRESH_TOKEN_DAYS", 30),
            refresh_grace_seconds=read_int(
                env, "ETHOS_OAUTH_REFRESH_GRACE_SECONDS", REFRESH_GRACE_SECONDS
            ),
            device_code_seconds=read_int(env, "ETHOS_OAUTH_DEVICE_CODE_SECONDS", 600),
            key_rotation_days=read_int(env, "ETHOS_OAUTH_KEY_ROTATION_DAYS", 90),
            mobile_redirect_uris=tuple((env.get("ETHOS_MOBILE_REDIRECT_URIS") or "").split()),
        )

    def mobile_redirects(self, base_url: str) -> tuple[str, ...]:
        return self.mobile_redirect_uris or (f"{base_url}/app/callback",)

    def validate(self, production: bool, base_url: str) -> None:
        if production and not base_url.startswith("https://"):
            raise OAuthConfigError("ETHOS_ENV=production needs an https ETHOS_BASE_URL (OAuth)")
        bounds = {
            "ETHOS_OAUTH_ACCESS_TOKEN_SECONDS": (self.access_token_seconds, 30, 3600),
            "ETHOS_OAUTH_ID_TOKEN_SECONDS": (self.id_token_seconds, 30, 3600),
            "ETHOS_OAUTH_REFRESH_TOKEN_DAYS": (self.refresh_token_days, 1, 365),
            "ETHOS_OAUTH_REFRESH_GRACE_SECONDS": (self.refresh_grace_seconds, 0, 300),
            "ETHOS_OAUTH_DEVICE_CODE_SECONDS": (self.device_code_seconds, 60, 3600),
            "ETHOS_OAUTH_KEY_ROTATION_DAYS": (self.key_rotation_days, 1, 3650),
        }
        for name, (value, low, high) in bounds.items():
            if not low <= value <= high:
                raise OAuthConfigError(f"{name} must be between {low} and {high}, not {value}")
        for uri in self.mobile_redirect_uris:
            parts = urlsplit(uri)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
                raise OAuthConfigError(
                    f"ETHOS_MOBILE_REDIRECT_URIS: {uri!r} is not an absolute URL without fragment"
                )
            if production and parts.scheme != "https":
                raise OAuthConfigError("ETHOS_MOBILE_REDIRECT_URIS must be https in production")
