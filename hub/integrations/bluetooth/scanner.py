"""Where advertisements come from: the scanner interface and its bleak implementation.

The integration only sees ``AdvertisementScanner``: something that, once started, calls a
callback with bleak's ``(BLEDevice, AdvertisementData)`` for every advertisement heard.
The bleak scanner passes that callback straight to ``BleakScanner``; tests pass the same
callback to a scanner that replays raw advertisement bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from hub.core.errors import HubError
from hub.integrations.bluetooth.const import BASE_UUID_SUFFIX

_LOGGER = logging.getLogger(__name__)

AdvertisementCallback = Callable[[BLEDevice, AdvertisementData], None]


class ScannerUnavailable(HubError):
    """The scanner cannot run (no adapter, no BlueZ, adapter error); the text says why."""


class AdvertisementScanner(Protocol):
    """A source of advertisements; ``mode`` says how it listens once started."""

    mode: str

    async def async_start(self) -> None:
        """Start listening; raise ScannerUnavailable with a reason a person can act on."""

    async def async_stop(self) -> None:
        """Stop listening; never raises."""


ScannerFactory = Callable[[AdvertisementCallback, "str | None"], AdvertisementScanner]


def describe_error(err: BaseException) -> str:
    """Turn bleak/D-Bus failures into a reason a person can act on."""
    if isinstance(err, FileNotFoundError | ConnectionRefusedError):
        return "no D-Bus system bus (is BlueZ installed and bluetoothd running?)"
    if isinstance(err, PermissionError):
        return "not allowed to use Bluetooth (D-Bus policy or missing capabilities)"
    return str(err) or type(err).__name__


def on_air_uuid16(uuid: str) -> bytes | None:
    """A 16-bit UUID in its Bluetooth-base 128-bit form, as advertised (little-endian);
    None for a UUID outside the base."""
    if len(uuid) != 36 or not uuid.lower().endswith(BASE_UUID_SUFFIX) or uuid[:4] != "0000":
        return None
    return bytes.fromhex(uuid[4:8])[::-1]


class BleakAdvertisementScanner:
    """A local adapter through bleak: passive when the platform allows, else active."""

    def __init__(
        self,
        callback: AdvertisementCallback,
        adapter: str | None = None,
        backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        self._callback = callback
        # Passive scanning listens for these (the manifests' matchers), as sent on air.
        self._on_air: list[bytes] = []
        self._adapter = adapter
        self._backend = backend  # None: the platform's (BlueZ, CoreBluetooth, WinRT)
        self._scanner: BleakScanner | None = None
        self.mode = "stopped"

    def listen_for(self, service_data_uuids: Iterable[str]) -> None:
        """What passive scanning asks the adapter for (before start): the manager passes
        the service data UUIDs the loaded manifests match."""
        on_air = (on_air_uuid16(uuid) for uuid in sorted(service_data_uuids))
        self._on_air = [uuid for uuid in on_air if uuid is not None]

    def _bluez_args(self, passive: bool) -> BlueZScannerArgs:
        args: BlueZScannerArgs = {}
        if self._adapter:
            args["adapter"] = self._adapter
        if passive:
            # BlueZ only scans passively through an advertisement monitor, which needs
            # patterns: the matched service data UUIDs as they appear on air.
            args["or_patterns"] = [
                OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, uuid)
                for uuid in self._on_air
            ]
        return args

    async def _async_try(self, mode: str) -> None:
        scanner = BleakScanner(
            self._callback,
            scanning_mode=mode,  # type: ignore[arg-type]
            bluez=self._bluez_args(mode == "passive"),
            backend=self._backend,
        )
        await scanner.start()
        self._scanner, self.mode = scanner, mode

    async def async_start(self) -> None:
        where = f"adapter {self._adapter}" if self._adapter else "the default adapter"
        try:
            await self._async_try("passive")
        except Exception as passive_err:
            passive_reason = describe_error(passive_err)
            try:
                await self._async_try("active")
            except Exception as err:
                raise ScannerUnavailable(
                    f"Bluetooth unavailable on {where}: {describe_error(err)}"
                ) from err
            _LOGGER.warning(
                "Passive Bluetooth scanning is not available on %s (%s); scanning actively "
                "instead, so devices receive scan requests",
                where,
                passive_reason,
            )
            return
        _LOGGER.info("Bluetooth scanning passively on %s", where)

    async def async_stop(self) -> None:
        scanner, self._scanner, self.mode = self._scanner, None, "stopped"
        if scanner is None:
            return
        try:
            await scanner.stop()
        except Exception as err:  # an adapter that vanished cannot be stopped: nothing to undo
            _LOGGER.debug("Stopping the Bluetooth scanner failed: %s", describe_error(err))
