"""An in-process MQTT broker (amqtt) for the default test tier: the demo's own broker."""

from __future__ import annotations

from urllib.parse import urlsplit

from ethos.demo_broker import async_start_broker
from tests.support.processes import free_port

# Ports of the brokers start_amqtt started in this test process: each is one test's own.
_AMQTT_PORTS: set[int] = set()


async def start_amqtt(host: str = "127.0.0.1", port: int | None = None):
    """Start an amqtt broker on a free port; return (broker, port). Caller shuts it down."""
    port = port or free_port(host)
    broker = await async_start_broker(host, port)
    _AMQTT_PORTS.add(port)
    return broker, port


def is_test_amqtt(url: str) -> bool:
    """Whether `url` is a broker start_amqtt started: a test's own, not a shared one."""
    parts = urlsplit(url)
    return parts.hostname in ("127.0.0.1", "localhost") and parts.port in _AMQTT_PORTS
