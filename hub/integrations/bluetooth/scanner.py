"""Where advertisements come from: the scanner interface and its bleak implementation.

The integration only sees ``AdvertisementScanner``: something that, once started, calls a
callback with bleak's ``(BLEDevice, AdvertisementData)`` for every advertisement heard.
The bleak scanner passes that callback straight to ``BleakScanner``; tests pass the same
callback to a scanner that replays raw advertisement bytes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner

from hub.core.errors import HubError
from hub.integrations.bluetooth.const import BTHOME_UUID_ON_AIR

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


class BleakAdvertisementScanner:
    """A local adapter through bleak: passive when the platform allows, else active."""

    def __init__(
        self,
        callback: AdvertisementCallback,
        adapter: str | None = None,
        backend: type[BaseBleakScanner] | None = None,
    ) -> None:
        self._callback = callback
        self._adapter = adapter
        self._backend = backend  # None: the platform's (BlueZ, CoreBluetooth, WinRT)
        self._scanner: BleakScanner | None = None
        self.mode = "stopped"

    def _bluez_args(self, passive: bool) -> BlueZScannerArgs:
        args: BlueZScannerArgs = {}
        if self._adapter:
            args["adapter"] = self._adapter
        if passive:
            # BlueZ only scans passively through an advertisement monitor, which needs
            # patterns: the BTHome service data UUID as it appears on air.
            args["or_patterns"] = [
                OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, BTHOME_UUID_ON_AIR)
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
