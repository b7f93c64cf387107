"""Settings of the BTCPay Server connection (a part of the cloud's settings)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

DEVELOPMENT_BTCPAY_API_KEY = "simulator-development-key"
DEVELOPMENT_BTCPAY_STORE_ID = "simulator-store"
SPEED_POLICIES = ("HighSpeed", "MediumSpeed", "LowMediumSpeed", "LowSpeed")
INVOICE_EXPIRY_MAX_MINUTES = 7 * 24 * 60

IntReader = Callable[[Mapping[str, str], str, int], int]


class BtcpayConfigError(ValueError):
    """A BTCPay setting that cannot be used; the message names the variable."""


@dataclass(frozen=True)
class BtcpaySettings:
    """Where BTCPay is and how invoices are made (development defaults point at
    `ethos btcpay-sim serve`; variables: cloud/cli.py)."""

    url: str = "http://127.0.0.1:8082"
    api_key: str = DEVELOPMENT_BTCPAY_API_KEY
    store_id: str = DEVELOPMENT_BTCPAY_STORE_ID
    webhook_secret: str | None = None  # None: registered at start-up (development only)
    speed_policy: str = "MediumSpeed"
    timeout_seconds: float = 10.0
    invoice_expiry_minutes: int = 15
    # PEM file of the CA that signed BTCPay's certificate, trusted beside the system's
    # (a BTCPay Server behind a private CA); None: the system's CAs only.
    ca_file: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str], read_int: IntReader) -> BtcpaySettings:
        """`read_int(env, name, default)` is the cloud settings' whole-number parser."""
        return cls(
            url=(env.get("BTCPAY_URL") or cls.url).rstrip("/"),
            api_key=env.get("BTCPAY_API_KEY") or DEVELOPMENT_BTCPAY_API_KEY,
            store_id=env.get("BTCPAY_STORE_ID") or DEVELOPMENT_BTCPAY_STORE_ID,
            webhook_secret=env.get("BTCPAY_WEBHOOK_SECRET") or None,
            speed_policy=env.get("BTCPAY_SPEED_POLICY") or cls.speed_policy,
            invoice_expiry_minutes=read_int(env, "BTCPAY_INVOICE_EXPIRY_MINUTES", 15),
            ca_file=env.get("BTCPAY_CA_FILE") or None,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of calls to BTCPay: the system's CAs plus BTCPAY_CA_FILE
        (None when it is unset: aiohttp's default verification)."""
        if self.ca_file is None:
            return None
        context = ssl.create_default_context()
        try:
            context.load_verify_locations(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as err:
            raise BtcpayConfigError(
                f"BTCPAY_CA_FILE {self.ca_file!r} is not a readable PEM certificate file "
                f"({type(err).__name__}: {err})"
            ) from err
        return context

    def validate(self, production: bool) -> None:
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise BtcpayConfigError(f"BTCPAY_URL must be an http(s) URL, not {self.url!r}")
        if self.speed_policy not in SPEED_POLICIES:
            raise BtcpayConfigError(
                f"BTCPAY_SPEED_POLICY must be one of {', '.join(SPEED_POLICIES)}"
            )
        if not 1 <= self.invoice_expiry_minutes <= INVOICE_EXPIRY_MAX_MINUTES:
            raise BtcpayConfigError(
                f"BTCPAY_INVOICE_EXPIRY_MINUTES must be between 1 and {INVOICE_EXPIRY_MAX_MINUTES}"
            )
        self.ssl_context()  # an unreadable BTCPAY_CA_FILE is refused at start
        if production and (
            self.api_key == DEVELOPMENT_BTCPAY_API_KEY
            or self.store_id == DEVELOPMENT_BTCPAY_STORE_ID
            or not self.webhook_secret
            or not self.url.startswith("https://")
        ):
            raise BtcpayConfigError(
                "ETHOS_ENV=production needs a real BTCPay Server: set BTCPAY_URL (https), "
                "BTCPAY_API_KEY, BTCPAY_STORE_ID and BTCPAY_WEBHOOK_SECRET (the simulator "
                "and its development credentials are refused)"
            )
