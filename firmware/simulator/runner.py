"""Run the firmware on CPython: simulated radar and PIR, real MQTT broker, clean stop.

``ethos device simulate`` lands here. The firmware's own modules (the folder copied onto
the ESP32) do all the work; this module only builds their configuration, supplies the
simulated hardware and the paho-based MQTT client, and handles SIGTERM/SIGINT.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from firmware.simulator.firmware_path import ensure_firmware_importable
from firmware.simulator.paho_client import PahoMQTTClient
from firmware.simulator.radar import SimulatedLD2410
from firmware.simulator.scenarios import SCENARIOS, ScenarioPlayer, SimulatedPhone, SimulatedPin

ensure_firmware_importable()

import clock  # noqa: E402  (firmware module, importable only after the path is set)
import device_config  # noqa: E402
import fw_log  # noqa: E402
from presence_app import PresenceDevice  # noqa: E402

_LOGGER = logging.getLogger(__name__)
_DEVICE_LOGGER = logging.getLogger("firmware.device")
SERIAL_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
BLE_SCAN_INTERVAL_MS = 250
# A device switched on before the hub has made its broker account retries with backoff; the
# ESP32 waits up to a minute between attempts, the simulator (demo, tests) at most this.
SIMULATOR_BACKOFF_MAX_MS = 5000


class SimulatorError(ValueError):
    """Bad simulator arguments; the message says what to fix."""


@dataclass(frozen=True)
class SimulatorOptions:
    serial: str
    claim_secret_hex: str
    broker_url: str
    scenario: str = "someone"
    discovery_prefix: str = "homeassistant"
    hold_time_s: float | None = None
    config_file: Path | None = None
    radar_noise_ms: int = 5000


def broker_settings(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise SimulatorError(f"broker URL must look like mqtt://HOST:PORT, got {url!r}")
    try:
        port = parts.port or 1883
    except ValueError as err:
        raise SimulatorError(f"bad port in broker URL {url!r}") from err
    return {
        "host": parts.hostname,
        "port": port,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }


def build_config(options: SimulatorOptions) -> tuple[dict[str, Any], list[str]]:
    """The config.json the simulated device would have, plus any problems found in it."""
    if not SERIAL_PATTERN.match(options.serial):
        raise SimulatorError("serial must be 3-32 letters, digits, '-' or '_' (EPD-000123)")
    if options.scenario not in SCENARIOS:
        raise SimulatorError(f"unknown scenario {options.scenario!r}; one of {sorted(SCENARIOS)}")
    secret = options.claim_secret_hex.strip().lower()
    if len(secret) != 64 or not re.fullmatch(r"[0-9a-f]{64}", secret):
        raise SimulatorError("claim secret must be 64 hex digits (32 bytes)")
    problems: list[str] = []
    if options.config_file is not None and options.config_file.exists():
        config, problems = device_config.load_config(options.config_file.read_text())
    else:
        config = device_config.default_config()
    config["serial"] = options.serial
    config["claim_secret"] = secret
    config["mqtt"] = broker_settings(options.broker_url)
    if not re.fullmatch(r"[A-Za-z0-9_/-]+", options.discovery_prefix):
        raise SimulatorError("discovery prefix may hold letters, digits, '_', '-' and '/'")
    config["mqtt"]["discovery_prefix"] = options.discovery_prefix.strip("/")
    config["ble"]["targets"] = [{"uuid": SimulatedPhone.UUID, "label": "phone"}]
    problems = [p for p in problems if not p.startswith(("serial", "claim secret"))]
    if options.hold_time_s is not None:
        config["settings"]["hold_time"] = device_config.parse_setting(
            "hold_time", str(options.hold_time_s)
        )
    return config, problems


class FileConfigStore:
    """Keeps the device's config.json in a host file (settings survive restarts)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def save(self, text: str) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(self.path)


class LoggingAdvertiser:
    """Stands in for the BLE radio: keeps and logs the BTHome advertisement bytes."""

    def __init__(self) -> None:
        self.last_payload: bytes | None = None

    def advertise(self, payload: bytes) -> None:
        self.last_payload = payload
        _LOGGER.debug("BTHome advertisement %s", payload.hex())


def _route_firmware_log() -> None:
    def sink(level: int, text: str) -> None:
        _DEVICE_LOGGER.log(level, "%s", text)

    fw_log.set_sink(sink)
    fw_log.set_level(fw_log.DEBUG if _DEVICE_LOGGER.isEnabledFor(logging.DEBUG) else fw_log.INFO)


class Simulation:
    """One simulated device: build it, then ``run(stop)`` until ``stop`` is set."""

    def __init__(self, options: SimulatorOptions) -> None:
        _route_firmware_log()
        config, problems = build_config(options)
        self.options = options
        self.player = ScenarioPlayer(SCENARIOS[options.scenario], clock.ticks_ms())
        self.radar = SimulatedLD2410(
            self.player.target_at, clock.ticks_ms, noise_every_ms=options.radar_noise_ms
        )
        self.advertiser = LoggingAdvertiser()
        store = FileConfigStore(options.config_file) if options.config_file else None
        self.device = PresenceDevice(
            config,
            problems,
            self.radar,
            SimulatedPin(self.player, clock.ticks_ms),
            PahoMQTTClient,
            config_store=store,
            advertiser=self.advertiser,
        )
        self.device.link.backoff.max_ms = SIMULATOR_BACKOFF_MAX_MS
        self.phone = SimulatedPhone(self.player)
        self._phase_label: str | None = None
        self._next_scan_ms = 0

    def _log_phase(self) -> None:
        phase, _ = self.player.phase_at(clock.ticks_ms())
        if phase.label != self._phase_label:
            self._phase_label = phase.label
            _LOGGER.info("scenario %s: %s", self.options.scenario, phase.label)

    def _scan_ble(self) -> None:
        # The device's BLE IRQ delivers a scan result a few times a second.
        now = clock.ticks_ms()
        if now < self._next_scan_ms:
            return
        self._next_scan_ms = now + BLE_SCAN_INTERVAL_MS
        result = self.phone.scan_result(now)
        if result is not None:
            self.device.observe_ble(*result)

    def run(self, stop: threading.Event) -> None:
        _LOGGER.info(
            "simulating %s on %s as %s (scenario %s)",
            self.options.serial,
            self.options.broker_url.split("@")[-1],
            self.device.link.login_user or "anonymous",
            self.options.scenario,
        )

        def should_stop() -> bool:
            # Called once per main-loop pass: also the place to narrate the scenario and to
            # hand the device what its BLE scanner would have heard.
            self._log_phase()
            self._scan_ble()
            return stop.is_set()

        self.device.run(should_stop=should_stop)
        _LOGGER.info("simulator for %s stopped", self.options.serial)


def run_in_foreground(run: Callable[[threading.Event], None]) -> int:
    """Call ``run(stop)`` until SIGTERM or SIGINT sets ``stop``; return the exit status."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        _LOGGER.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def run_until_signal(options: SimulatorOptions) -> int:
    """Run the simulated detector in the foreground until SIGTERM or SIGINT."""
    return run_in_foreground(Simulation(options).run)
