"""An in-process MQTT broker (amqtt) for the default test tier."""

from __future__ import annotations

import warnings

from tests.support.processes import free_port


async def start_amqtt(host: str = "127.0.0.1", port: int | None = None):
    """Start an amqtt broker on a free port; return (broker, port). Caller shuts it down."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from amqtt.broker import Broker

        port = port or free_port(host)
        broker = Broker(
            {
                "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
                "sys_interval": 0,
                "auth": {"allow-anonymous": True},
                "topic-check": {"enabled": False},
            }
        )
        await broker.start()
    return broker, port
