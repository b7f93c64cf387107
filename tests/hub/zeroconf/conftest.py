"""mDNS on loopback: a probe that it works here, a second responder, a hub to test."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from zeroconf import IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from hub.core.hub import Hub
from hub.integrations.zeroconf import ZeroconfRuntime
from tests.hub.common import StartedHubs, make_config

LOOPBACK = "127.0.0.1"
PROBE_TYPE = "_ethos-probe._tcp.local."


def loopback_zeroconf() -> AsyncZeroconf:
    return AsyncZeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)


async def _mdns_round_trip() -> bool:
    """Can one responder on 127.0.0.1 resolve what another registers there?"""
    speaker, listener = loopback_zeroconf(), loopback_zeroconf()
    name = f"probe-{os.getpid()}.{PROBE_TYPE}"
    try:
        info = AsyncServiceInfo(
            PROBE_TYPE, name, port=9, parsed_addresses=[LOOPBACK], server="probe.local."
        )
        await speaker.async_register_service(info)
        return await AsyncServiceInfo(PROBE_TYPE, name).async_request(listener.zeroconf, 3000)
    except OSError:
        return False
    finally:
        await speaker.async_close()
        await listener.async_close()


@pytest.fixture(scope="session")
def loopback_mdns() -> None:
    """mDNS between processes on this machine over 127.0.0.1.

    Linux delivers multicast on ``lo`` without its MULTICAST flag on the machines we use;
    where it does not, the flag is set (root only) and the probe repeated. A skip names
    what was tried.
    """
    if asyncio.run(_mdns_round_trip()):
        return
    if os.geteuid() == 0:
        subprocess.run(["ip", "link", "set", "lo", "multicast", "on"], check=False)
        if asyncio.run(_mdns_round_trip()):
            return
    pytest.skip(
        "mDNS does not work on 127.0.0.1 here, even after `ip link set lo multicast on` "
        "(needs root); zeroconf tests cannot run"
    )


@pytest.fixture
async def responder(loopback_mdns: None) -> AsyncIterator[AsyncZeroconf]:
    """A second mDNS responder on loopback: the test's side of the LAN."""
    aiozc = loopback_zeroconf()
    try:
        yield aiozc
    finally:
        await aiozc.async_close()


@pytest.fixture
async def start_hub(
    tmp_path: Path, loopback_mdns: None
) -> AsyncIterator[Callable[..., asyncio.Future]]:
    started = StartedHubs()

    async def start(**overrides: object) -> Hub:
        overrides.setdefault("integrations", ("zeroconf",))
        overrides.setdefault("zeroconf_interfaces", (LOOPBACK,))
        return await started.async_start(Hub(make_config(tmp_path, **overrides)))

    yield start  # type: ignore[misc]
    await started.async_stop_all()


def runtime(hub: Hub) -> ZeroconfRuntime:
    return hub.config_entries.async_entries("zeroconf")[0].runtime_data
