"""The thin hardware layer of the ESP32: UART, Pin, BLE, WLAN, WDT and the flash config file.

The only firmware module that imports ``machine``, ``network`` and ``bluetooth``; it exists
on the device only (the simulator supplies its own stand-ins for these objects).
"""

import os
import socket

import bluetooth
import clock
import fw_log
import machine
import network
from mqtt_link import Backoff

CONFIG_PATH = "config.json"
RADAR_BAUD = 256000
WDT_TIMEOUT_MS = 30000
_IRQ_SCAN_RESULT = 5
_IRQ_SCAN_DONE = 6


def radar_uart(pins: dict) -> object:
    # UART1's default pins collide with flash: always pass tx/rx explicitly.
    return machine.UART(
        1, baudrate=RADAR_BAUD, tx=pins["radar_tx"], rx=pins["radar_rx"], rxbuf=512, timeout=0
    )


def pir_pin(pins: dict) -> object:
    return machine.Pin(pins["pir"], machine.Pin.IN)


def broker_reachable(host: str, port: int, timeout_s: float = 3.0) -> bool:
    """A TCP connect with a timeout: umqtt.simple connects without one, and an unanswered
    SYN would block longer than the watchdog allows (a reset, then the same again)."""
    try:
        address = socket.getaddrinfo(host, port)[0][-1]
        probe = socket.socket()
    except OSError:
        return False
    try:
        probe.settimeout(timeout_s)
        probe.connect(address)
        return True
    except OSError:
        return False
    finally:
        probe.close()


def watchdog() -> object:
    return machine.WDT(timeout=WDT_TIMEOUT_MS)


def unique_suffix() -> str:
    return machine.unique_id().hex().upper()


class FlashConfigStore:
    """config.json on the internal filesystem, replaced atomically."""

    def __init__(self, path: str = CONFIG_PATH) -> None:
        self.path = path

    def read(self) -> str | None:
        try:
            with open(self.path) as handle:
                return handle.read()
        except OSError:
            return None

    def save(self, text: str) -> None:
        temporary = self.path + ".tmp"
        with open(temporary, "w") as handle:
            handle.write(text)
        os.rename(temporary, self.path)


class Wifi:
    """Station mode with hostname ethos-<serial>; reconnects with backoff, never blocks."""

    def __init__(self, ssid: str, password: str, serial: str) -> None:
        network.hostname(("ethos-" + serial)[:32])
        self.wlan = network.WLAN(network.STA_IF)
        self.wlan.active(True)
        self.ssid = ssid
        self.password = password
        self.backoff = Backoff(2000, 60000)
        self._attempt_at = None

    def ensure(self, now_ms: int) -> bool:
        if self.wlan.isconnected():
            if self._attempt_at is not None:
                fw_log.info("wifi connected: %s", self.wlan.ifconfig()[0])
                self._attempt_at = None
                self.backoff.succeeded()
            return True
        if not self.ssid:
            return False
        if self._attempt_at is not None and clock.ticks_diff(now_ms, self._attempt_at) < 15000:
            return False  # an attempt is still in progress
        if self.backoff.due(now_ms):
            if self._attempt_at is not None:
                self.backoff.failed(now_ms)
            fw_log.info("wifi connecting to %s", self.ssid)
            try:
                self.wlan.disconnect()
                self.wlan.connect(self.ssid, self.password)
            except OSError as err:
                fw_log.warning("wifi connect failed: %s", err)
            self._attempt_at = now_ms
        return False


class BleRadio:
    """Passive scanning for configured targets plus the BTHome advertisement."""

    def __init__(self, device: object) -> None:
        self.device = device
        self.ble = bluetooth.BLE()
        self.ble.active(True)
        self.ble.irq(self._irq)
        self.scanning = False

    def _irq(self, event: int, data: tuple) -> None:
        if event == _IRQ_SCAN_RESULT:
            _addr_type, _addr, _adv_type, rssi, adv_data = data
            # The IRQ's buffers are reused: copy before keeping anything.
            self.device.observe_ble(rssi, bytes(adv_data))
        elif event == _IRQ_SCAN_DONE:
            self.scanning = False

    def scan(self) -> None:
        if not self.scanning:
            self.scanning = True
            self.ble.gap_scan(10000, 100000, 30000, False)

    def advertise(self, payload: bytes) -> None:
        self.ble.gap_advertise(1000000, adv_data=payload)
