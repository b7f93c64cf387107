"""The BTCPay simulator: retries on BTCPay's schedule, redelivery, auth, checkout page,
production refusal, and the store registering its own webhook in development."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from decimal import Decimal

import aiohttp
import pytest

from cloud.app import create_app
from cloud.btcpay_simulator.app import SimulatorRefused, SimulatorSettings
from cloud.payments.const import RETRY_DELAYS_SECONDS
from cloud.payments.greenfield import BtcpayError, GreenfieldClient
from cloud.payments.settings import BtcpaySettings
from ethos.cli import main as ethos_main
from tests.cloud.checkout.shop import Shop
from tests.cloud.payments.sim_support import RETRY_SCALE
from tests.support import processes
from tests.support.waiting import wait_until


async def _hook(sim, url: str) -> dict:
    return await sim.create_webhook(url)


async def _created(greenfield_client) -> str:
    invoice = await greenfield_client.create_invoice(
        "o", Decimal("1"), "EUR", "http://x", "MediumSpeed", 15
    )
    return invoice.id


async def test_failed_deliveries_are_retried_on_btcpays_schedule(sim, receiver, greenfield):
    receiver.answers = [503, 500, 200]
    await _hook(sim, receiver.url)
    await _created(greenfield)
    await wait_until(lambda: len(receiver.received) == 3)
    times = [t for t, _, _ in receiver.received]
    delays = [b - a for a, b in itertools.pairwise(times)]
    expected = [d * RETRY_SCALE for d in RETRY_DELAYS_SECONDS[:2]]  # 10 s, 1 min (scaled)
    assert all(got >= want * 0.9 for got, want in zip(delays, expected, strict=True)), delays
    assert len({body for _, body, _ in receiver.received}) == 1  # the same delivery each time


@pytest.mark.parametrize(("answer", "attempts"), [(400, 1), (401, 1), (429, 2), (408, 2)])
async def test_only_5xx_408_429_and_network_errors_are_retried(
    sim,
    receiver,
    greenfield,
    answer,
    attempts,
):
    receiver.answers = [answer]
    await _hook(sim, receiver.url)
    await _created(greenfield)
    await wait_until(lambda: len(receiver.received) >= 1)
    await wait_until(lambda: len(receiver.received) >= attempts)
    # Longer than the first (scaled) retry delay: a refused delivery stays refused.
    await asyncio.sleep(RETRY_DELAYS_SECONDS[0] * RETRY_SCALE * 3)
    assert len(receiver.received) == attempts


async def test_redelivery_carries_the_original_delivery_id(sim, receiver, greenfield):
    hook = await _hook(sim, receiver.url)
    await _created(greenfield)
    await wait_until(lambda: len(receiver.received) == 1)
    original = receiver.bodies()[0]
    assert original["isRedelivery"] is False
    status, new_id = await sim.call(
        "POST",
        f"/api/v1/stores/{sim.store_id}/webhooks/{hook['id']}/deliveries/"
        f"{original['deliveryId']}/redeliver",
    )
    assert status == 200
    await wait_until(lambda: len(receiver.received) == 2)
    again = receiver.bodies()[1]
    assert again["deliveryId"] == new_id != original["deliveryId"]
    assert again["originalDeliveryId"] == original["deliveryId"] and again["isRedelivery"]


async def test_api_needs_the_key(sim):
    async with aiohttp.ClientSession() as session:
        client = GreenfieldClient(session, sim.url, "wrong-key", sim.store_id, 5.0)
        with pytest.raises(BtcpayError, match="credentials") as err:
            await client.create_invoice("o", Decimal("1"), "EUR", "http://x", "MediumSpeed", 15)
        assert err.value.status == 401
        other_store = GreenfieldClient(session, sim.url, sim.api_key, "other", 5.0)
        with pytest.raises(BtcpayError, match="store not found"):
            await other_store.create_invoice(
                "o", Decimal("1"), "EUR", "http://x", "MediumSpeed", 15
            )


async def test_checkout_page_shows_amount_bip21_qr_and_test_buttons(sim, greenfield):
    invoice = await greenfield.create_invoice(
        "o", Decimal("25.00"), "EUR", "http://shop/orders/o", "MediumSpeed", 15
    )
    async with sim.session.get(invoice.checkout_link) as response:
        html = await response.text()
    assert "25.00 EUR" in html and "0.00050000 BTC" in html
    assert "bitcoin:bcrt1q" in html and "?amount=0.00050000" in html
    assert "<svg" in html  # the QR code of the BIP21 URI
    for action in ("pay", "pay-part", "overpay", "confirm", "expire"):
        assert f'/test/{action}"' in html
    async with sim.session.post(
        f"{sim.url}/i/{invoice.id}/test/pay", allow_redirects=False
    ) as response:
        assert response.status == 303
    async with sim.session.get(f"{sim.url}/i/nope") as response:
        assert response.status == 404


async def test_production_refuses_the_simulator(monkeypatch, capsys, sim):
    with pytest.raises(SimulatorRefused, match="ETHOS_ENV=production"):
        SimulatorSettings(env="production").validate()
    monkeypatch.setenv("ETHOS_ENV", "production")
    assert ethos_main(["btcpay-sim", "serve", "--port", str(processes.free_port())]) == 2
    assert "refuses it" in capsys.readouterr().err
    # And a production store that is pointed at a simulator anyway refuses to use it.
    async with aiohttp.ClientSession() as session:
        client = GreenfieldClient(
            session, sim.url, sim.api_key, sim.store_id, 5.0, refuse_simulator=True
        )
        with pytest.raises(BtcpayError, match="Production refuses the BTCPay simulator"):
            await client.create_invoice("o", Decimal("1"), "EUR", "http://x", "MediumSpeed", 15)


async def test_store_registers_its_own_webhook_in_development(
    aiohttp_client, cloud_settings, sim, smtp_server
):
    """BTCPAY_WEBHOOK_SECRET unset: the store creates its webhook through Greenfield at
    start-up, replacing the one an earlier run left, and deliveries then work."""
    port = processes.free_port()
    settings = dataclasses.replace(
        cloud_settings,
        base_url=f"http://127.0.0.1:{port}",
        btcpay=BtcpaySettings(url=sim.url, api_key=sim.api_key, store_id=sim.store_id),
    )
    url = f"{settings.base_url}/webhooks/btcpay"
    stale = await sim.create_webhook(url, "left-over-secret")
    client = await aiohttp_client(create_app(settings), server_kwargs={"port": port})

    async def ours() -> list[dict]:
        _status, hooks = await sim.call("GET", f"/api/v1/stores/{sim.store_id}/webhooks")
        return [h for h in hooks if h["url"] == url]

    for _ in range(500):
        hooks = await ours()
        if hooks and hooks[0]["id"] != stale["id"]:
            break
            await asyncio.sleep(0.01)
    assert len(hooks) == 1 and hooks[0]["id"] != stale["id"]
    shop = Shop(client, sim, settings, smtp_server, hooks[0])
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order()
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    await sim.call("DELETE", f"/api/v1/stores/{sim.store_id}/webhooks/{hooks[0]['id']}")


async def test_an_aimed_fault_hits_only_its_call(sim, greenfield):
    invoice_id = await _created(greenfield)
    status_path = f"/api/v1/stores/{sim.store_id}/invoices/{invoice_id}/status"
    await sim.fail_next(503, method="POST", path=status_path)

    # A re-fetch of the invoice (a webhook's, say) is not the aimed call: it passes.
    assert (await greenfield.get_invoice(invoice_id)).status == "New"
    with pytest.raises(BtcpayError):
        await greenfield.mark_invoice_invalid(invoice_id)
    assert (await greenfield.mark_invoice_invalid(invoice_id)).status == "Invalid"
