"""An in-process MQTT broker (amqtt) for the default test tier: the demo's own broker."""

from __future__ import annotations

from ethos.demo_broker import async_start_broker
from tests.support.processes import free_port


async def start_amqtt(host: str = "127.0.0.1", port: int | None = None):
    """Start an amqtt broker on a free port; return (broker, port). Caller shuts it down."""
    port = port or free_port(host)
    return await async_start_broker(host, port), port
