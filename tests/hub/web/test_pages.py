"""Pages and controls through the aiohttp test client, with a real hub and broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.hub.mqtt.device import FakeDevice
from tests.hub.web.conftest import SignedIn, second_browser
from tests.support.waiting import wait_until


async def _add_plug(signed: SignedIn, device: FakeDevice, prefix: str) -> str:
    base = f"{prefix}/plug"
    await device.publish(
        f"{prefix}/device/plug/config",
        {
            "dev": {"ids": ["plug-1"], "name": "Desk plug", "mf": "Acme", "mdl": "P1"},
            "~": base,
            "cmps": {
                "relay": {
                    "p": "switch",
                    "uniq_id": "plug1_relay",
                    "name": "Relay",
                    "cmd_t": "~/set",
                    "stat_t": "~/state",
                },
                "power": {
                    "p": "sensor",
                    "uniq_id": "plug1_power",
                    "name": "Power",
                    "stat_t": "~/power",
                    "unit_of_meas": "W",
                },
                "mode": {
                    "p": "select",
                    "uniq_id": "plug1_mode",
                    "name": "Mode",
                    "cmd_t": "~/mode/set",
                    "stat_t": "~/mode",
                    "ops": ["eco", "boost"],
                },
            },
        },
        retain=True,
    )
    await wait_until(lambda: signed.hub.states.get("select.desk_plug_mode"))
    return signed.hub.entities.get("switch.desk_plug_relay").device_id


async def test_strangers_are_sent_to_sign_in(
    hub_app: web.Application, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    client = await aiohttp_client(hub_app)
    page = await client.get("/devices", allow_redirects=False)
    assert page.status == 302
    assert page.headers["Location"] in ("/auth/login?next=/devices", "/auth/login?next=%2Fdevices")
    api = await client.get("/api/states")
    assert api.status == 401
    # The store is unreachable in this fixture: the sign-in page says so, no crash.
    login = await client.get("/auth/login")
    assert login.status == 503
    assert "cannot be reached" in await login.text()


async def test_devices_device_detail_and_security_headers(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    device_id = await _add_plug(owner, device, prefix)
    await device.publish(f"{prefix}/plug/power", "42.5")
    await wait_until(lambda: owner.hub.states.get("sensor.desk_plug_power").state == "42.5")

    listing = await owner.client.get("/devices")
    text = await listing.text()
    assert listing.status == 200
    assert f'href="/devices/{device_id}"' in text and "Desk plug" in text
    csp = listing.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert listing.headers["X-Frame-Options"] == "DENY"
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")  # no third parties

    detail = await (await owner.client.get(f"/devices/{device_id}")).text()
    assert 'data-state-of="sensor.desk_plug_power">42.5<' in detail
    assert 'action="/entities/switch.desk_plug_relay/command"' in detail
    assert "<option>boost</option>" in detail
    assert "<svg" in detail and "Remove device" in detail  # owner sees the settings


async def test_controls_send_commands_over_mqtt(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    device_id = await _add_plug(owner, device, prefix)
    await device.watch(f"{prefix}/plug/set")
    await device.watch(f"{prefix}/plug/mode/set")
    response = await owner.client.post(
        "/entities/switch.desk_plug_relay/command",
        data=owner.form(service="turn_on", next=f"/devices/{device_id}"),
        allow_redirects=False,
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/devices/{device_id}"
    api = await owner.client.post(
        "/api/entities/select.desk_plug_mode/command",
        json={"service": "select_option", "value": "boost"},
        headers={"X-CSRF-Token": owner.principal.csrf_token},
    )
    assert api.status == 200
    await wait_until(lambda: device.messages_on(f"{prefix}/plug/mode/set") == ["boost"])
    assert device.messages_on(f"{prefix}/plug/set") == ["ON"]
    status = await (await owner.client.get("/api/mqtt")).json()
    assert status["connected"] is True and status["received"] >= 1
    assert status["discovery_dropped"] == 0 and status["recorder_dropped"] == 0


async def test_user_mistakes_get_clear_4xx_answers(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    await _add_plug(owner, device, prefix)
    no_csrf = await owner.client.post(
        "/entities/switch.desk_plug_relay/command", data={"service": "turn_on"}
    )
    assert no_csrf.status == 403
    bad_option = await owner.client.post(
        "/entities/select.desk_plug_mode/command",
        data=owner.form(service="select_option", value="turbo"),
    )
    assert bad_option.status == 400
    assert "not one of" in await bad_option.text()
    wrong_service = await owner.client.post(
        "/api/entities/sensor.desk_plug_power/command",
        json={"service": "turn_on"},
        headers={"X-CSRF-Token": owner.principal.csrf_token},
    )
    assert wrong_service.status == 400
    assert "do not take" in (await wrong_service.json())["error"]
    not_json = await owner.client.post(
        "/api/entities/switch.desk_plug_relay/command",
        data="{{{",
        headers={"X-CSRF-Token": owner.principal.csrf_token, "Content-Type": "application/json"},
    )
    assert not_json.status == 400
    assert (await owner.client.get("/entities/sensor.nothing")).status == 404
    assert (await owner.client.get("/devices/nope")).status == 404
    assert (await owner.client.get("/entities/sensor.desk_plug_power?hours=abc")).status == 400


async def test_member_controls_but_only_the_owner_removes(
    owner: SignedIn, device: FakeDevice, prefix: str
) -> None:
    device_id = await _add_plug(owner, device, prefix)
    async with second_browser(owner, "member-sub", "Max") as member:
        await _member_can_control_not_remove(owner, member, device_id)


async def _member_can_control_not_remove(owner: SignedIn, member: SignedIn, device_id: str) -> None:
    assert member.principal.role == "member" and owner.principal.role == "owner"
    page = await (await member.client.get(f"/devices/{device_id}")).text()
    assert "Remove device" not in page
    ok = await member.client.post(
        "/entities/switch.desk_plug_relay/command",
        data=member.form(service="turn_off"),
        allow_redirects=False,
    )
    assert ok.status == 303
    refused = await member.client.post(f"/devices/{device_id}/remove", data=member.form())
    assert refused.status == 403
    assert owner.hub.devices.get(device_id) is not None

    renamed = await owner.client.post(
        f"/devices/{device_id}/rename", data=owner.form(name="Office plug"), allow_redirects=False
    )
    assert renamed.status == 303
    assert "Office plug" in await (await owner.client.get("/devices")).text()
    removed = await owner.client.post(
        f"/devices/{device_id}/remove", data=owner.form(), allow_redirects=False
    )
    assert removed.status == 303
    await wait_until(lambda: owner.hub.states.get("switch.desk_plug_relay") is None)
    assert owner.hub.devices.get(device_id) is None


async def test_entity_page_draws_history(owner: SignedIn, device: FakeDevice, prefix: str) -> None:
    await _add_plug(owner, device, prefix)
    for watts in ("10", "20", "15"):
        await device.publish(f"{prefix}/plug/power", watts)
        await wait_until(lambda w=watts: owner.hub.states.get("sensor.desk_plug_power").state == w)
    await device.publish(f"{prefix}/plug/state", "ON")
    await wait_until(lambda: owner.hub.states.get("switch.desk_plug_relay").state == "on")

    power = await (await owner.client.get("/entities/sensor.desk_plug_power?hours=1")).text()
    assert '<svg class="chart"' in power and "<path d=" in power
    assert "20 W" in power  # the axis maximum, with its unit
    relay = await (await owner.client.get("/entities/switch.desk_plug_relay")).text()
    assert '<rect class="band"' in relay and "<title>on from" in relay
    entities = await (await owner.client.get("/entities?domain=sensor")).text()
    assert "sensor.desk_plug_power" in entities and "switch.desk_plug_relay" not in entities
