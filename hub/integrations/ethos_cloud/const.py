"""Names, paths and timings of the link between this hub and the Ethos store."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "ethos_cloud"

# The store's first-party client that onboards hubs (device authorization grant, RFC 8628).
SETUP_CLIENT_ID: Final = "ethos-hub-setup"
# Asked for while linking: `hub.register` lets the hub register itself as a client once.
ONBOARDING_SCOPE: Final = "openid profile email devices hub.register"
# What the hub keeps afterwards (the refresh grant narrows the scope, RFC 6749 section 6).
SYNC_SCOPE: Final = "openid profile email devices"
REGISTERED_SCOPE: Final = "openid profile email devices"
DEVICE_GRANT: Final = "urn:ietf:params:oauth:grant-type:device_code"

OWNED_DEVICES_PATH: Final = "/api/v1/me/devices"
REMOTE_HUB_SESSION_PATH: Final = "/api/v1/remote/hub-session"  # remote access (REMOTE.md)

HTTP_TIMEOUT_S: Final = 10.0
# Polling with ETag: a purchase shows up within this many seconds (the issue asks for 60);
# an unchanged list costs one 304 per interval.
POLL_INTERVAL_S: Final = 30.0
# Refresh the access token this long before it expires.
TOKEN_EXPIRY_MARGIN_S: Final = 30.0

CLAIM_TIMEOUT_S: Final = 5.0
# A device that did not prove itself is challenged again after this long.
CLAIM_RETRY_S: Final = 60.0
CLAIM_NONCE_BYTES: Final = 16  # sent as 32 hex characters (the firmware takes 8..128 bytes)
CLAIM_ANSWER_MAX_BYTES: Final = 256  # a hex HMAC-SHA256 is 64; more is cut off


# Keys of the config entry's data.
DATA_CLOUD_URL: Final = "cloud_url"
DATA_CLIENT_ID: Final = "client_id"
DATA_CLIENT_SECRET: Final = "client_secret_enc"  # noqa: S105 (a key name)
DATA_REDIRECT_URI: Final = "redirect_uri"
DATA_REFRESH_TOKEN: Final = "refresh_token_enc"  # noqa: S105 (a key name)
DATA_ACCOUNT_SUBJECT: Final = "account_subject"
DATA_ACCOUNT_EMAIL: Final = "account_email"
DATA_OWNED: Final = "owned_enc"
DATA_ETAG: Final = "etag"
DATA_SYNCED_AT: Final = "synced_at"
DATA_POLL_INTERVAL: Final = "poll_interval_s"
DATA_CLAIM_TIMEOUT: Final = "claim_timeout_s"

# Where the adoption result lives on a registry device (DeviceRow.extra).
EXTRA_KEY: Final = "ethos"
# The discovery pin's note on a registry device: fingerprints in force, configs held back.
PIN_EXTRA_KEY: Final = "ethos_pin"
