"""Hub pages never print a missing value as "None" (or a Decimal as "0E-8"): the jinja
environment writes None as nothing, and every page a newcomer meets is rendered with
devices, entities and rooms that leave things unset. The Store account page right after
linking, before the store's first list of devices arrived, says what is true."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import aiohttp_jinja2
import pytest
from aiohttp import web

from hub.core.hub import Hub
from hub.core.models import DeviceInfo
from hub.integrations.ethos_cloud import cloud_runtime
from hub.integrations.ethos_cloud.sync import SyncStatus
from hub.web.app import create_app
from tests.hub.common import make_config
from tests.hub.ethos_cloud.test_sync_resilience import ScriptedStore, _link, store  # noqa: F401
from tests.hub.web.conftest import SignedIn

ROUGH = re.compile(r"\bNone\b|0E-\d")


@pytest.fixture
def scripted_store(store: tuple[ScriptedStore, str]) -> tuple[ScriptedStore, str]:  # noqa: F811
    store[0].devices_mode = "503"  # the store's first list of devices fails
    return store


@pytest.fixture
def hub_app(
    tmp_path: Path, mqtt_broker_url: str, prefix: str, scripted_store: tuple[ScriptedStore, str]
) -> web.Application:
    """The web tests' hub, with the store integration (pointed at the scripted store)."""
    config = make_config(
        tmp_path,
        integrations=("mqtt", "ethos_cloud"),
        mqtt_url=mqtt_broker_url,
        discovery_prefix=prefix,
        cloud_url=scripted_store[1],
    )
    return create_app(config)


def _rough_spots(page: str) -> list[str]:
    return [page[max(m.start() - 60, 0) : m.end() + 20] for m in ROUGH.finditer(page)]


async def _sparse_home(hub: Hub) -> str:
    """A device with nothing but an identifier, entities without names, units or values, an
    empty room and a device in no room."""
    bare = await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("test", "bare"),)))
    room = await hub.areas.async_create("Attic")
    await hub.areas.async_create("Cellar")  # stays empty
    await hub.devices.async_set_area(bare.id, room.id)
    await hub.devices.async_get_or_create(DeviceInfo(identifiers=(("test", "roomless"),)))
    for domain, key, state in (
        ("sensor", "no_unit", "unknown"),
        ("binary_sensor", "no_class", "unavailable"),
        ("switch", "no_name", "off"),
    ):
        row = await hub.entities.async_get_or_create(
            domain, "test", key, suggested_object_id=key, device_id=bare.id
        )
        hub.states.async_set(row.entity_id, state, {})
    return bare.id


def test_the_environment_writes_none_as_nothing_and_decimals_in_full(hub_app) -> None:
    env = aiohttp_jinja2.get_env(hub_app)
    page = env.from_string("{{ name }} ({{ problem }}) {{ amount }}").render(
        name="Maison", problem=None, amount=Decimal("0E-8")
    )
    assert page == "Maison () 0.00000000"


async def test_no_hub_page_prints_none_with_values_missing(owner: SignedIn) -> None:
    hub = owner.hub
    device_id = await _sparse_home(hub)
    await _link(hub, str(hub.config.cloud_url))
    paths = [
        "/", "/devices", f"/devices/{device_id}", "/entities", "/entities/sensor.no_unit",
        "/rooms", "/setup/hub", "/setup/rooms", "/setup/devices", "/auth/link", "/users",
    ]  # fmt: skip
    for path in paths:
        response = await owner.client.get(path)
        assert response.status == 200, (path, response.status)
        assert _rough_spots(await response.text()) == [], path


async def test_store_account_right_after_linking_says_the_list_is_not_known_yet(
    owner: SignedIn, scripted_store: tuple[ScriptedStore, str]
) -> None:
    """Linked, and the store's first list of devices failed: nothing was ever saved, so the
    page must not claim "0 owned" from a saved list."""
    hub = owner.hub
    sync = await _link(hub, scripted_store[1])
    await sync.async_sync_once()
    assert sync.status is SyncStatus.UNREACHABLE and not sync.knows_owned

    page = await (await owner.client.get("/auth/link")).text()
    status = re.search(r'id="link-sync-status"[^>]*>(.*?)</p>', page, re.S)
    assert status, page
    text = re.sub(r"<[^>]+>", "", status.group(1))
    assert "0 owned" not in text and "saved list" not in text
    assert "not known yet" in text and "503" in text  # the store's answer, as it came
    assert _rough_spots(page) == []
    devices = await (await owner.client.get("/devices")).text()
    assert "not known yet" in devices and "0 devices owned" not in devices

    # The store answers: the same page now counts the devices.
    scripted, _ = scripted_store
    scripted.devices_mode = "ok"
    scripted.devices = [
        {"serial": "EPD-000009", "sku": "EPD-1", "name": "Presence detector",
         "claim_secret": "ab" * 32, "order_id": "o1"},
    ]  # fmt: skip
    await sync.async_sync_once()
    runtime = cloud_runtime(hub)
    assert runtime is not None and runtime.sync.knows_owned
    page = await (await owner.client.get("/auth/link")).text()
    assert "1 owned, in sync with the store" in page
