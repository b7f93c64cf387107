"""Keys, defaults and limits of the Bluetooth integration (adapter, scanner, dispatch)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "bluetooth"
# The adapter to listen with, e.g. hci1 (unset: the system's default).
ENV_ADAPTER: Final = "ETHOS_HUB_BLUETOOTH_ADAPTER"
TITLE: Final = "Bluetooth"
# Integrations list the advertisements they want under this manifest key (the loader checks
# its shape); the scanner queues only advertisements some manifest matches.
MANIFEST_KEY: Final = "bluetooth"
# A 16-bit UUID "xxxx" is 0000xxxx plus this, in bleak's 128-bit form.
BASE_UUID_SUFFIX: Final = "-0000-1000-8000-00805f9b34fb"

# Entry data keys (all optional; the defaults below apply).
CONF_ADAPTER: Final = "adapter"
CONF_SILENT_AFTER: Final = "silent_after"
CONF_STALE_AFTER: Final = "stale_after"
CONF_MAX_DEVICES: Final = "max_devices"

# A scanner that has heard nothing for this long is restarted (a wedged adapter is the
# usual cause); the watchdog looks this often.
SCANNER_SILENT_AFTER_S: Final = 90.0
WATCHDOG_INTERVAL_FRACTION: Final = 0.25
# A device unheard for this long shows as unavailable (BTHome sends every few seconds to
# minutes; sleepy ones only on events, so they are exempt).
DEVICE_STALE_AFTER_S: Final = 15 * 60.0

# Bounded everywhere: floods cost dropped advertisements (counted), never unbounded memory.
MAX_QUEUED_ADVERTISEMENTS: Final = 1_000
# Devices are added without asking (like a BTHome-aware app); a spoofer sending from ever new
# addresses stops at this many devices instead of filling the registries.
MAX_TRACKED_DEVICES: Final = 256
