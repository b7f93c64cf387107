"""A private Mosquitto with the dynamic-security plugin, for the device-identity tests.

Both tiers use it (Debian's ``mosquitto`` ships the plugin and ``mosquitto_ctrl``): it is
set up by the same code as the demo's broker (``ethos.dynsec_broker``), on a free port, in
the test's own directory, so nothing is shared and nothing needs cleaning afterwards.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ethos import dynsec_broker
from tests.support.processes import free_port, stop, wait_for_port


@dataclass
class DynsecBroker:
    host: str
    port: int
    directory: Path
    admin_user: str
    admin_password: str = field(repr=False)
    process: subprocess.Popen | None = None

    def url(self, username: str | None = None, password: str | None = None) -> str:
        if username is None:
            return f"mqtt://{self.host}:{self.port}"
        auth = quote(username, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"mqtt://{auth}@{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        """What the hub's MQTT_URL is: the plugin's admin account."""
        return self.url(self.admin_user, self.admin_password)

    def log(self) -> str:
        path = self.directory / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


def start_dynsec_broker(directory: Path, extra_settings: tuple[str, ...] = ()) -> DynsecBroker:
    """Start the broker and wait until it listens; stop it with ``stop_dynsec_broker``."""
    if not dynsec_broker.available():
        raise RuntimeError(
            "the device-identity tests need Mosquitto with its dynamic-security plugin and "
            "mosquitto_ctrl (Debian: apt-get install mosquitto)"
        )
    port = free_port()
    broker = DynsecBroker("127.0.0.1", port, directory, dynsec_broker.ADMIN_USER,
                          secrets.token_urlsafe(18))  # fmt: skip
    conf = dynsec_broker.prepare(
        directory, broker.host, port, broker.admin_password, extra_settings=extra_settings
    )
    log = (directory / "mosquitto.log").open("ab")
    broker.process = subprocess.Popen(
        dynsec_broker.command(conf), stdout=log, stderr=subprocess.STDOUT
    )
    wait_for_port(broker.host, port, broker.process)
    return broker


def stop_dynsec_broker(broker: DynsecBroker) -> None:
    if broker.process is not None:
        stop(broker.process)
