"""An embedded MQTT broker (amqtt) for `ethos demo` when Mosquitto is not installed.

It takes every client, with or without credentials (devices log in with their serial and
derived password; here nobody checks them): DEVICE IDENTITY IS NOT ENFORCED on this broker,
and the hub says so in its log and on its /broker page.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqtt.broker import Broker

_LOGGER = logging.getLogger(__name__)
NOT_ENFORCED = (
    "The embedded MQTT broker does not enforce device identity: any client on the network "
    "can speak for any device. Install Mosquitto (with its dynamic-security plugin) for that."
)


async def async_start_broker(host: str, port: int) -> Broker:
    """Start an open amqtt broker on host:port; the caller shuts it down."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from amqtt.broker import Broker

        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
                "sys_interval": 0,
                # Only the anonymous plugin: the file plugin would refuse a device that
                # sends its credentials, since there is no password file to check them.
                "auth": {"allow-anonymous": True, "plugins": ["auth_anonymous"]},
                "topic-check": {"enabled": False},
            }
        )
        await broker.start()
    return broker


async def _serve(host: str, port: int) -> None:
    broker = await async_start_broker(host, port)
    _LOGGER.warning(NOT_ENFORCED)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
