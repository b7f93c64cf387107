"""BTHome v2 advertisements to readings, through the ``bthome-ble`` library.

In front of the library sit the checks that keep traffic cheap and memory bounded:
packet-id de-duplication (a device repeats each packet several times), refusal of
encrypted payloads (no keys are configured), and a cap on tracked devices.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bthome_ble import BTHomeBluetoothDeviceData
from habluetooth import BluetoothServiceInfoBleak

from hub.integrations.bluetooth.const import (
    BTHOME_FLAG_ENCRYPTED,
    BTHOME_FLAG_MAC_INCLUDED,
    BTHOME_OBJECT_PACKET_ID,
    BTHOME_UUID,
    BTHOME_VERSION,
    DUPLICATE_WINDOW_S,
    LIBRARY_LOG_INTERVAL_S,
    MAX_SERVICE_DATA_BYTES,
    MAX_TRACKED_DEVICES,
)

if TYPE_CHECKING:
    from sensor_state_data import SensorUpdate

_LOGGER = logging.getLogger(__name__)
# Bookkeeping, not measurements: they change with every packet and would flood history.
_NOT_ENTITIES = frozenset({"signal_strength", "packet_id"})


class LibraryLogLimiter(logging.Filter):
    """Lets each of the library's messages through once per interval.

    ``bthome-ble`` logs errors and warnings per bad packet; radio junk would otherwise
    write a line per advertisement.
    """

    def __init__(self, interval: float = LIBRARY_LOG_INTERVAL_S) -> None:
        super().__init__()
        self._interval = interval
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = str(record.msg)
        last = self._last.get(key)
        if last is not None and record.created - last < self._interval:
            return False
        if len(self._last) > 256:
            self._last.clear()
        self._last[key] = record.created
        return True


@dataclass(frozen=True, slots=True)
class Measurement:
    """One value of one advertisement: a sensor reading or a binary state."""

    key: str
    name: str | None
    value: Any
    binary: bool
    unit: str | None = None
    device_class: str | None = None


@dataclass(frozen=True, slots=True)
class BTHomeReading:
    """What one accepted advertisement said about one device."""

    address: str
    name: str
    model: str | None
    manufacturer: str | None
    sw_version: str | None
    sleepy: bool
    measurements: tuple[Measurement, ...]


@dataclass
class _Tracked:
    parser: BTHomeBluetoothDeviceData
    packet_id: int | None = None
    accepted_at: float = float("-inf")


@dataclass
class ReaderCounters:
    accepted: int = 0
    duplicates: int = 0
    encrypted: int = 0
    malformed: int = 0
    parser_errors: int = 0  # the library (or the conversion) raised: a bug to report
    not_bthome: int = 0
    evicted: int = 0
    logged: set[str] = field(default_factory=set, repr=False)


def packet_id(service_data: bytes) -> int | None:
    """The plain payload's packet id, if it carries one (object 0x00 always comes first)."""
    offset = 7 if service_data[0] & BTHOME_FLAG_MAC_INCLUDED else 1
    if len(service_data) > offset + 1 and service_data[offset] == BTHOME_OBJECT_PACKET_ID:
        return service_data[offset + 1]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


class BTHomeReader:
    """Reads BTHome advertisements; one library parser per device, at most ``max_devices``."""

    def __init__(self, max_devices: int = MAX_TRACKED_DEVICES) -> None:
        self._max_devices = max_devices
        self._tracked: OrderedDict[str, _Tracked] = OrderedDict()
        self.counters = ReaderCounters()

    def read(
        self, device: BLEDevice, advertisement: AdvertisementData, now: float
    ) -> BTHomeReading | None:
        """A reading, or None for foreign, duplicate, encrypted or malformed advertisements."""
        data = advertisement.service_data.get(BTHOME_UUID)
        if data is None:
            self.counters.not_bthome += 1
            return None
        address = device.address.upper()
        if not data or len(data) > MAX_SERVICE_DATA_BYTES:
            self._malformed(address, "empty or oversized service data")
            return None
        if data[0] >> 5 != BTHOME_VERSION:
            self._malformed(address, f"BTHome version {data[0] >> 5}, only 2 is read")
            return None
        if data[0] & BTHOME_FLAG_ENCRYPTED:
            self.counters.encrypted += 1
            self._log_once(address, "encrypted", "%s sends encrypted BTHome; no key is set")
            return None
        tracked = self._track(address)
        pid = packet_id(data)
        if (
            pid is not None
            and pid == tracked.packet_id
            and now - tracked.accepted_at < DUPLICATE_WINDOW_S
        ):
            self.counters.duplicates += 1
            return None
        try:
            update = tracked.parser.update(self._service_info(device, advertisement, now))
            reading = self._reading(address, tracked.parser, update)
        except Exception as err:  # the library must not take the hub down on radio junk
            self.counters.parser_errors += 1
            self._malformed(address, f"{type(err).__name__}: {err}")
            return None
        if reading is None:
            return None
        tracked.packet_id, tracked.accepted_at = pid, now
        self.counters.accepted += 1
        return reading

    def _track(self, address: str) -> _Tracked:
        tracked = self._tracked.get(address)
        if tracked is None:
            tracked = self._tracked[address] = _Tracked(BTHomeBluetoothDeviceData())
            if len(self._tracked) > self._max_devices:
                self._tracked.popitem(last=False)
                self.counters.evicted += 1
        else:
            self._tracked.move_to_end(address)
        return tracked

    @staticmethod
    def _service_info(
        device: BLEDevice, advertisement: AdvertisementData, now: float
    ) -> BluetoothServiceInfoBleak:
        return BluetoothServiceInfoBleak(
            name=advertisement.local_name or device.name or device.address,
            address=device.address.upper(),
            rssi=advertisement.rssi,
            manufacturer_data=advertisement.manufacturer_data,
            service_data=advertisement.service_data,
            service_uuids=advertisement.service_uuids,
            source="local",
            device=device,
            advertisement=advertisement,
            connectable=False,
            time=now,
            tx_power=advertisement.tx_power,
        )

    def _reading(
        self, address: str, parser: BTHomeBluetoothDeviceData, update: SensorUpdate
    ) -> BTHomeReading | None:
        measurements: list[Measurement] = []
        sources = (
            (update.entity_values, update.entity_descriptions, False),
            (update.binary_entity_values, update.binary_entity_descriptions, True),
        )
        for values, descriptions, binary in sources:
            for key, value in values.items():
                if key.key in _NOT_ENTITIES or value.native_value is None:
                    continue
                description = descriptions.get(key)
                unit = getattr(description, "native_unit_of_measurement", None)
                measurements.append(
                    Measurement(
                        key=key.key,
                        name=value.name,
                        value=bool(value.native_value) if binary else value.native_value,
                        binary=binary,
                        unit=_text(unit),
                        device_class=_text(getattr(description, "device_class", None)),
                    )
                )
        if not measurements:
            return None
        info = update.devices.get(None)
        return BTHomeReading(
            address=address,
            name=(info and info.name) or update.title or address,
            model=info.model if info else None,
            manufacturer=info.manufacturer if info else None,
            sw_version=info.sw_version if info else None,
            sleepy=parser.sleepy_device,
            measurements=tuple(measurements),
        )

    def _malformed(self, address: str, reason: str) -> None:
        self.counters.malformed += 1
        self._log_once(address, "malformed", "Ignoring malformed BTHome data from %s: %s", reason)

    def _log_once(self, address: str, kind: str, message: str, *args: object) -> None:
        """Warn once per device and kind; the set is bounded like the device table."""
        tag = f"{kind}:{address}"
        logged = self.counters.logged
        if tag in logged:
            return
        if len(logged) >= 4 * self._max_devices:
            logged.clear()
        logged.add(tag)
        _LOGGER.warning(message, address, *args)
