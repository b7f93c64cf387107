"""Keys, defaults and limits of the zeroconf integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "zeroconf"
# Comma-separated addresses where the hub speaks mDNS (unset: derived from where it listens).
ENV_INTERFACES: Final = "ETHOS_HUB_ZEROCONF_INTERFACES"
TITLE: Final = "Zeroconf"

HUB_SERVICE_TYPE: Final = "_ethos-hub._tcp.local."
TXT_NAME: Final = "name"
TXT_VERSION: Final = "version"
TXT_URL: Final = "url"
DISTRIBUTION: Final = "ethos"  # the installed package whose version the hub advertises

# Integrations list service types under this manifest key and implement this hook.
MANIFEST_KEY: Final = "zeroconf"
DISCOVERY_HOOK: Final = "async_zeroconf_discovered"

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})
LOOPBACK_ADDRESS: Final = "127.0.0.1"

RESOLVE_TIMEOUT_MS: Final = 3_000
# Bounded: a LAN announcing many services costs skipped announcements, never memory.
MAX_QUEUED_ANNOUNCEMENTS: Final = 100
