"""An embedded MQTT broker (amqtt) for `ethos demo` when no Mosquitto is running."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from amqtt.broker import Broker


async def async_start_broker(host: str, port: int) -> Broker:
    """Start an anonymous amqtt broker on host:port; the caller shuts it down."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from amqtt.broker import Broker

        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
                "sys_interval": 0,
                "auth": {"allow-anonymous": True},
                "topic-check": {"enabled": False},
            }
        )
        await broker.start()
    return broker


async def _serve(host: str, port: int) -> None:
    broker = await async_start_broker(host, port)
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
