"""A Mosquitto broker with its dynamic-security plugin, set up entirely from Python.

``ethos demo`` runs one in its data directory and the tests run private ones: a config file
(one listener, anonymous access off, the plugin) and the plugin's JSON, made once by
``mosquitto_ctrl dynsec init`` with the hub's admin account (its password goes in on
stdin, never on a command line). The hub then gives itself its role and creates every
device's client over MQTT.

    python -m ethos.dynsec_broker --dir DIR --port 1883   # ETHOS_MQTT_ADMIN_PASSWORD
"""

from __future__ import annotations

import argparse
import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

ADMIN_USER = "ethos-hub"
ENV_ADMIN_PASSWORD = "ETHOS_MQTT_ADMIN_PASSWORD"  # noqa: S105 (a variable's name)
PLUGIN_NAME = "mosquitto_dynamic_security.so"
PLUGIN_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib",
    "/usr/local/lib",
)
CONF_FILE = "mosquitto.conf"
DYNSEC_FILE = "dynamic-security.json"


class BrokerSetupError(RuntimeError):
    """Mosquitto, its plugin or mosquitto_ctrl is missing, or the set-up failed."""


def find_plugin() -> Path | None:
    for folder in PLUGIN_DIRS:
        candidate = Path(folder) / PLUGIN_NAME
        if candidate.exists():
            return candidate
    return None


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()),
        None,
    )


def available() -> bool:
    """Whether this machine can run a dynamic-security Mosquitto."""
    return bool(mosquitto_binary() and shutil.which("mosquitto_ctrl") and find_plugin())


def prepare(
    directory: Path,
    host: str,
    port: int,
    admin_password: str,
    *,
    admin_user: str = ADMIN_USER,
    extra_settings: tuple[str, ...] = (),
) -> Path:
    """Write the broker's config (and the plugin's JSON if it does not exist); its path."""
    plugin = find_plugin()
    ctrl = shutil.which("mosquitto_ctrl")
    if plugin is None or ctrl is None:
        raise BrokerSetupError("Mosquitto's dynamic-security plugin or mosquitto_ctrl is missing")
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    dynsec = directory / DYNSEC_FILE
    if not dynsec.exists():
        result = subprocess.run(  # noqa: S603 (a fixed program; the password goes on stdin)
            [ctrl, "dynsec", "init", str(dynsec), admin_user],
            input=f"{admin_password}\n{admin_password}\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not dynsec.exists():
            raise BrokerSetupError(f"mosquitto_ctrl dynsec init failed: {result.stderr.strip()}")
    dynsec.chmod(0o600)  # password hashes
    lines = [
        f"listener {port} {host}",
        "allow_anonymous false",
        "persistence false",
        f"plugin {plugin}",
        f"plugin_opt_config_file {dynsec}",
        # Run as whoever started us (as root, Mosquitto would switch to the `mosquitto`
        # user, which could not write the plugin's file in this directory).
        f"user {getpass.getuser()}",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        *extra_settings,
    ]
    conf = directory / CONF_FILE
    conf.write_text("\n".join(lines) + "\n")
    return conf


def command(conf: Path) -> list[str]:
    binary = mosquitto_binary()
    if binary is None:
        raise BrokerSetupError("mosquitto is not installed")
    return [binary, "-c", str(conf)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args(argv)
    password = os.environ.get(ENV_ADMIN_PASSWORD)
    if not password:
        sys.exit(f"{ENV_ADMIN_PASSWORD} is not set")
    conf = prepare(args.dir, args.host, args.port, password)
    os.environ.pop(ENV_ADMIN_PASSWORD, None)
    argv_mosquitto = command(conf)
    os.execv(argv_mosquitto[0], argv_mosquitto)  # noqa: S606 (Mosquitto replaces us)


if __name__ == "__main__":
    main()
