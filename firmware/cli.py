"""``ethos device simulate`` and ``ethos firmware provision|flash``.

Imports only argparse at module level; the simulator, mpremote and esptool are loaded or
run inside the handlers.
"""

from __future__ import annotations

import argparse
import os

SCENARIO_NAMES = ("someone", "fan", "pet", "empty")


def register(subparsers: argparse._SubParsersAction) -> None:
    _register_device(subparsers)
    _register_firmware(subparsers)


def _register_device(subparsers: argparse._SubParsersAction) -> None:
    device = subparsers.add_parser("device", help="simulated Ethos devices")
    commands = device.add_subparsers(dest="device_command", metavar="COMMAND", required=True)
    simulate = commands.add_parser(
        "simulate",
        help="run the presence detector firmware (or a simulated MQTT light) on this machine",
        description=(
            "--kind presence (default): run the ESP32 presence detector's firmware modules "
            "on CPython with a simulated "
            "LD2410 radar and PIR, against a real MQTT broker, until SIGTERM or Ctrl-C. "
            "Like the ESP32, it logs in as its serial with the password derived from its "
            "claim secret (HMAC-SHA256(secret, 'ethos-mqtt-v1')) unless the broker URL names "
            "another account. "
            "Environment: ETHOS_DEVICE_SERIAL, ETHOS_CLAIM_SECRET (used when the options are "
            "omitted; prefer it for the secret, which is never logged), MQTT_URL, "
            "ETHOS_HUB_DISCOVERY_PREFIX, LOG_LEVEL. "
            "--kind light: a third-party MQTT light (JSON schema, brightness) announced with "
            "Home Assistant discovery, obeying commands on BASE/set and keeping its state on "
            "BASE/state; on a broker that enforces identity, give it the credential the owner "
            "made at the hub's /broker page (same topic base and node id) in the broker URL "
            "(prefer MQTT_URL: command lines are visible to other users)."
        ),
    )
    simulate.add_argument(
        "--kind", choices=("presence", "light"), default="presence", help="what to simulate"
    )
    simulate.add_argument(
        "--base", default="sim/light", metavar="TOPIC", help="light: its topic base"
    )
    simulate.add_argument("--node-id", default="sim_light", help="light: its discovery node id")
    simulate.add_argument("--name", default="Simulated light", help="light: its device name")
    simulate.add_argument(
        "--serial", default=os.environ.get("ETHOS_DEVICE_SERIAL"), help="e.g. EPD-000123"
    )
    simulate.add_argument(
        "--claim-secret",
        default=os.environ.get("ETHOS_CLAIM_SECRET"),
        metavar="HEX",
        help="the unit's 32-byte claim secret as 64 hex digits",
    )
    simulate.add_argument(
        "--broker",
        default=os.environ.get("MQTT_URL", "mqtt://127.0.0.1:1883"),
        metavar="URL",
        help="mqtt://[user:password@]host:port (default: $MQTT_URL or mqtt://127.0.0.1:1883)",
    )
    simulate.add_argument(
        "--scenario",
        default="someone",
        choices=SCENARIO_NAMES,
        help="someone (comes, stays, leaves; default), fan, pet, empty — all loop",
    )
    simulate.add_argument(
        "--discovery-prefix",
        default=os.environ.get("ETHOS_HUB_DISCOVERY_PREFIX", "homeassistant"),
        metavar="PREFIX",
        help="MQTT discovery prefix, as the hub's (default: $ETHOS_HUB_DISCOVERY_PREFIX "
        "or homeassistant)",
    )
    simulate.add_argument(
        "--hold-time", type=float, metavar="S", help="initial off-delay in seconds (1-3600)"
    )
    simulate.add_argument(
        "--config-file",
        metavar="PATH",
        help="keep the device's config.json here, so settings survive restarts",
    )
    simulate.set_defaults(handler=_simulate)


def _register_firmware(subparsers: argparse._SubParsersAction) -> None:
    firmware = subparsers.add_parser("firmware", help="put the firmware on a real ESP32")
    commands = firmware.add_subparsers(dest="firmware_command", metavar="COMMAND", required=True)
    provision = commands.add_parser(
        "provision",
        help="write config.json and the firmware files to an ESP32 running MicroPython",
        description=(
            "Build config.json (WiFi, broker, serial, claim secret, pins) and copy it with the "
            "firmware files to the board using mpremote (pip install 'ethos[firmware]'). "
            "Environment: ETHOS_DEVICE_SERIAL, ETHOS_CLAIM_SECRET, ETHOS_WIFI_SSID, "
            "ETHOS_WIFI_PASSWORD, MQTT_URL."
        ),
    )
    provision.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    provision.add_argument("--serial", default=os.environ.get("ETHOS_DEVICE_SERIAL"))
    provision.add_argument(
        "--claim-secret", default=os.environ.get("ETHOS_CLAIM_SECRET"), metavar="HEX"
    )
    provision.add_argument("--wifi-ssid", default=os.environ.get("ETHOS_WIFI_SSID", ""))
    provision.add_argument(
        "--wifi-password",
        default=os.environ.get("ETHOS_WIFI_PASSWORD", ""),
        help="prefer $ETHOS_WIFI_PASSWORD: command lines are visible to other users",
    )
    provision.add_argument(
        "--broker", default=os.environ.get("MQTT_URL", "mqtt://192.168.1.2:1883"), metavar="URL"
    )
    provision.add_argument("--dry-run", action="store_true", help="print the commands only")
    provision.set_defaults(handler=_provision)
    flash = commands.add_parser(
        "flash",
        help="erase the ESP32 and write the MicroPython image with esptool",
        description=(
            "Erase the flash and write a MicroPython ESP32 image (download it from "
            "micropython.org/download/ESP32_GENERIC) at offset 0x1000 using esptool "
            "(pip install 'ethos[firmware]'). Reads no environment variables."
        ),
    )
    flash.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    flash.add_argument("--image", required=True, help="MicroPython .bin for the ESP32")
    flash.add_argument("--baud", type=int, default=460800)
    flash.add_argument("--dry-run", action="store_true", help="print the commands only")
    flash.set_defaults(handler=_flash)


def _simulate(args: argparse.Namespace) -> int:
    import logging
    from pathlib import Path

    from firmware.simulator.runner import SimulatorError, SimulatorOptions, run_until_signal

    if args.kind == "light":
        return _simulate_light(args)
    if not args.serial or not args.claim_secret:
        logging.getLogger(__name__).error(
            "--serial and --claim-secret (or ETHOS_DEVICE_SERIAL / ETHOS_CLAIM_SECRET) are needed"
        )
        return 2
    options = SimulatorOptions(
        serial=args.serial,
        claim_secret_hex=args.claim_secret,
        broker_url=args.broker,
        scenario=args.scenario,
        discovery_prefix=args.discovery_prefix,
        hold_time_s=args.hold_time,
        config_file=Path(args.config_file) if args.config_file else None,
    )
    try:
        return run_until_signal(options)
    except (SimulatorError, ValueError) as err:
        logging.getLogger(__name__).error("cannot simulate: %s", err)
        return 2


def _simulate_light(args: argparse.Namespace) -> int:
    import logging

    from firmware.simulator.light import LightOptions, run_light_until_signal
    from firmware.simulator.runner import SimulatorError

    options = LightOptions(
        broker_url=args.broker,
        base=args.base,
        node_id=args.node_id,
        name=args.name,
        discovery_prefix=args.discovery_prefix,
    )
    try:
        options.check()
        return run_light_until_signal(options)
    except SimulatorError as err:
        logging.getLogger(__name__).error("cannot simulate: %s", err)
        return 2


def _provision(args: argparse.Namespace) -> int:
    return _run_tool("provision", args)


def _flash(args: argparse.Namespace) -> int:
    return _run_tool("flash", args)


def _run_tool(name: str, args: argparse.Namespace) -> int:
    import logging

    from firmware import tools

    try:
        return getattr(tools, name)(args)
    except tools.ToolError as err:
        logging.getLogger(__name__).error("%s failed: %s", name, err)
        return 2
