"""The hub is browsable as ``_ethos-hub._tcp`` with its name, version and UI URL."""

from __future__ import annotations

import asyncio
import importlib.metadata

from zeroconf import ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from hub.core.config_entries import EntryState
from hub.core.hub import HubState
from tests.hub.zeroconf.conftest import runtime
from tests.support.waiting import wait_until

HUB_TYPE = "_ethos-hub._tcp.local."


async def test_the_hub_is_browsable_with_its_txt_properties(
    start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    name = f"Ethos hub {unique_id}"
    hub = await start_hub(name=name, host="127.0.0.1", port=8181)
    seen: list[str] = []

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Added:
            seen.append(name)

    browser = AsyncServiceBrowser(responder.zeroconf, [HUB_TYPE], handlers=[on_change])
    try:
        instance = f"{name}.{HUB_TYPE}"
        await wait_until(lambda: instance in seen, timeout=10)
    finally:
        await browser.async_cancel()
    info = AsyncServiceInfo(HUB_TYPE, instance)
    assert await info.async_request(responder.zeroconf, 3000)
    assert info.port == 8181
    assert info.parsed_addresses() == ["127.0.0.1"]
    assert info.decoded_properties == {
        "name": name,
        "version": importlib.metadata.version("ethos"),
        "url": "http://127.0.0.1:8181/",
    }
    # The hub's own account of it: announcing finished.
    await asyncio.wait_for(runtime(hub).registered.wait(), 10)


async def test_a_configured_ui_url_is_advertised_as_given(
    start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    name = f"Hub with url {unique_id}"
    await start_hub(name=name, ui_url="https://hub.example.test/")
    info = AsyncServiceInfo(HUB_TYPE, f"{name}.{HUB_TYPE}")
    assert await info.async_request(responder.zeroconf, 5000)
    assert info.decoded_properties["url"] == "https://hub.example.test/"


async def test_an_interface_that_is_not_up_puts_the_entry_into_retry(start_hub) -> None:
    hub = await start_hub(zeroconf_interfaces=("192.0.2.123",))
    entry = hub.config_entries.async_entries("zeroconf")[0]
    assert entry.state is EntryState.SETUP_RETRY
    assert entry.reason.startswith("mDNS unavailable on ['192.0.2.123']: ")
    assert hub.state is HubState.RUNNING


async def test_a_malformed_interface_setting_is_an_error_with_the_reason(start_hub) -> None:
    hub = await start_hub(zeroconf_interfaces=("not-an-address",))
    entry = hub.config_entries.async_entries("zeroconf")[0]
    assert entry.state is EntryState.SETUP_ERROR
    assert "bad mDNS interface in ['not-an-address']" in entry.reason
    assert hub.state is HubState.RUNNING


async def _resolve(responder: AsyncZeroconf, name: str, timeout_ms: int = 5000) -> AsyncServiceInfo:
    info = AsyncServiceInfo(HUB_TYPE, f"{name}.{HUB_TYPE}")
    assert await info.async_request(responder.zeroconf, timeout_ms), f"{name} not advertised"
    return info


async def test_the_name_given_in_the_set_up_flow_is_advertised_not_the_environments(
    start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    hub = await start_hub(name=f"From env {unique_id}")
    owners = f"Maison {unique_id}"
    await hub.core_config.async_update({"name": owners})
    await hub.async_stop()

    await start_hub(name=f"From env {unique_id}")
    info = await _resolve(responder, owners)
    assert info.decoded_properties["name"] == owners


async def test_a_rename_after_start_re_registers_under_the_new_name(
    start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    before, after = f"Before {unique_id}", f"After {unique_id}"
    hub = await start_hub(name=before)
    await asyncio.wait_for(runtime(hub).registered.wait(), 10)
    await _resolve(responder, before)

    await hub.core_config.async_update({"name": after})
    info = await _resolve(responder, after)
    assert info.decoded_properties["name"] == after
    await asyncio.wait_for(runtime(hub).registered.wait(), 10)
    # The old name said goodbye: nobody answers for it any more.
    gone = AsyncServiceInfo(HUB_TYPE, f"{before}.{HUB_TYPE}")
    assert not await gone.async_request(responder.zeroconf, 1500)


async def test_clearing_the_name_returns_to_the_environments(
    start_hub, responder: AsyncZeroconf, unique_id: str
) -> None:
    env_name = f"Env name {unique_id}"
    hub = await start_hub(name=env_name)
    await hub.core_config.async_update({"name": f"Given {unique_id}"})
    await _resolve(responder, f"Given {unique_id}")
    await hub.core_config.async_update({"name": None})
    info = await _resolve(responder, env_name)
    assert info.decoded_properties["name"] == env_name
