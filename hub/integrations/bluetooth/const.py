"""Keys, defaults and limits of the Bluetooth (BTHome) integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "bluetooth"
# The adapter to listen with, e.g. hci1 (unset: the system's default).
ENV_ADAPTER: Final = "ETHOS_HUB_BLUETOOTH_ADAPTER"
TITLE: Final = "Bluetooth"
# Integrations list the advertisements they want under this manifest key (the loader checks
# its shape); the scanner queues only advertisements some manifest matches.
MANIFEST_KEY: Final = "bluetooth"

# BTHome v2 service data UUID 0xFCD2, as bleak reports it (128-bit form), and as sent on air.
BTHOME_UUID: Final = "0000fcd2-0000-1000-8000-00805f9b34fb"
BTHOME_UUID_ON_AIR: Final = b"\xd2\xfc"
BTHOME_VERSION: Final = 2  # bits 5-7 of the device-info byte
BTHOME_FLAG_ENCRYPTED: Final = 0x01
BTHOME_FLAG_MAC_INCLUDED: Final = 0x02
BTHOME_OBJECT_PACKET_ID: Final = 0x00
# The library accepts a repeated packet id once this long has passed (the device may have
# restarted); within the window a repeat is the same reading sent again.
DUPLICATE_WINDOW_S: Final = 4.0

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
MAX_SERVICE_DATA_BYTES: Final = 255
LIBRARY_LOGGER: Final = "bthome_ble.parser"  # filters do not apply to child loggers
LIBRARY_LOG_INTERVAL_S: Final = 60.0
