"""Pack, ship with tracking, deliver: each illegal step refused with its reason and nothing
written; shipping mails the buyer the tracking; two operators at once: one wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import update

from cloud.checkout.models import Order
from cloud.db import utcnow
from cloud.domain import InputErrors, RefusedError
from cloud.shipping import service as shipping
from cloud.shipping.service import ShippingAction, Tracking
from cloud.shipping.setup import async_erase_once
from cloud.web.keys import DB

TRACKING = Tracking("La Poste", "6A12345678901")


async def _paid_order(shop, email: str = "buyer@example.com") -> str:
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", email=email)
    await shop.pay(order_id, "pay", "confirm")
    await shop.wait_status(order_id, "paid")
    return order_id


async def _act(
    shop, order_id: str, action: ShippingAction, tracking: Tracking | None = None, days: int = 30
):
    async with shop.app[DB]() as session, session.begin():
        return await shipping.execute(
            session,
            order_id,
            action,
            tracking=tracking,
            order_link=f"{shop.settings.base_url}/orders/{order_id}",
            erase_days=days,
        )


async def _refused(shop, order_id: str, action: ShippingAction, tracking=None) -> str:
    before = await shop.order(order_id)
    with pytest.raises(RefusedError) as refused:
        await _act(shop, order_id, action, tracking)
    after = await shop.order(order_id)
    assert after.model_dump() == before.model_dump(), "a refused step wrote something"
    assert shipping.can_execute(after, action) == refused.value.refusal
    return refused.value.refusal.code


async def test_an_unpaid_order_cannot_be_packed_shipped_or_delivered(shop):
    await shop.add_stock("EPD-1", 1)
    order_id = await shop.place_order("EPD-1", email="buyer@example.com")
    await shop.wait_status(order_id, "awaiting_payment")
    for action in ShippingAction:
        assert await _refused(shop, order_id, action, TRACKING) == "not_paid"
    message = shipping.can_execute(await shop.order(order_id), ShippingAction.SHIP)
    assert message is not None and "Only a paid order can be shipped" in message.message


async def test_pack_ship_deliver_in_order_each_refused_out_of_turn(shop, unique_id):
    buyer = f"buyer-{unique_id}@example.com"
    order_id = await _paid_order(shop, buyer)
    assert await _refused(shop, order_id, ShippingAction.SHIP, TRACKING) == "not_packed"
    assert await _refused(shop, order_id, ShippingAction.DELIVER) == "not_packed"

    order = await _act(shop, order_id, ShippingAction.PACK)
    assert order.fulfilment == "packed" and order.packed_at is not None
    assert await _refused(shop, order_id, ShippingAction.PACK) == "already_packed"
    assert await _refused(shop, order_id, ShippingAction.DELIVER) == "not_shipped"

    mails_before = len(shop.smtp.messages_to(buyer))
    order = await _act(shop, order_id, ShippingAction.SHIP, TRACKING)
    assert (order.fulfilment, order.carrier, order.tracking_number) == (
        "shipped",
        "La Poste",
        "6A12345678901",
    )
    assert await _refused(shop, order_id, ShippingAction.SHIP, TRACKING) == "already_shipped"
    assert await _refused(shop, order_id, ShippingAction.PACK) == "already_packed"
    message = await shop.smtp.wait_for(buyer, count=mails_before + 1)
    assert "has shipped" in message["Subject"]
    body = message.get_content()
    assert "La Poste" in body and "6A12345678901" in body and f"/orders/{order_id}" in body

    page = await (await shop.client.get(f"/orders/{order_id}")).text()
    assert 'class="tracking-number">6A12345678901<' in page and "with La Poste" in page

    order = await _act(shop, order_id, ShippingAction.DELIVER)
    assert order.fulfilment == "delivered"
    assert await _refused(shop, order_id, ShippingAction.DELIVER) == "already_delivered"
    async with shop.app[DB]() as session:
        stored = await shipping.address_of(session, shop.settings.secret_key, order_id)
    assert stored.erase_after is not None
    expected = order.delivered_at + timedelta(days=30)  # type: ignore[operator]
    assert abs(stored.erase_after - expected) < timedelta(seconds=1)


def test_tracking_input_is_checked():
    for carrier, number, field in (
        ("", "6A12345678901", "carrier"),
        ("DHL", "", "tracking_number"),
        ("DHL", "12<script>", "tracking_number"),
        ("x" * 61, "6A12345678901", "carrier"),
    ):
        with pytest.raises(InputErrors) as errors:
            shipping.parse_tracking(carrier, number)
        assert field in errors.value.fields
    assert shipping.parse_tracking("  DHL  Express ", " JD0146 0000 ") == Tracking(
        "DHL Express", "JD0146 0000"
    )


async def test_two_operators_packing_at_once_one_wins_the_other_is_told(shop):
    order_id = await _paid_order(shop)
    results = await asyncio.gather(
        _act(shop, order_id, ShippingAction.PACK),
        _act(shop, order_id, ShippingAction.PACK),
        return_exceptions=True,
    )
    packed = [r for r in results if isinstance(r, Order)]
    refused = [r for r in results if isinstance(r, RefusedError)]
    assert len(packed) == 1 and len(refused) == 1, results
    assert refused[0].refusal.code == "already_packed"


async def test_addresses_are_erased_after_the_configured_days(shop):
    delivered = await _paid_order(shop)
    for action in (ShippingAction.PACK, ShippingAction.SHIP, ShippingAction.DELIVER):
        await _act(shop, delivered, action, TRACKING)
    kept = await _paid_order(shop)  # paid, not yet shipped: its address is needed
    await shop.add_stock("EPD-1", 1)
    expired = await shop.place_order("EPD-1", email="late@example.com")
    await shop.pay(expired, "expire")
    await shop.wait_status(expired, "expired")

    async def erase(days_from_now: float) -> int:
        async with shop.app[DB]() as session, session.begin():
            return await shipping.erase_due_addresses(
                session, 30, now=utcnow() + timedelta(days=days_from_now)
            )

    assert await erase(29) == 0
    assert await erase(30.01) == 2
    assert await erase(31) == 0  # once
    async with shop.app[DB]() as session:
        key = shop.settings.secret_key
        gone = await shipping.address_of(session, key, delivered)
        also_gone = await shipping.address_of(session, key, expired)
        still = await shipping.address_of(session, key, kept)
    assert gone.address is None and gone.erased_at is not None
    assert also_gone.address is None
    assert still.address is not None and still.address.name == "Ada Lovelace"
    page = await (await shop.client.get(f"/orders/{delivered}")).text()
    assert "Ada Lovelace" not in page and "The shipping address was erased on" in page


async def test_the_running_store_erases_due_addresses(shop):
    """The job the store runs (ETHOS_ADDRESS_ERASE_DAYS=0 here: due at delivery)."""
    order_id = await _paid_order(shop)
    for action in (ShippingAction.PACK, ShippingAction.SHIP, ShippingAction.DELIVER):
        await _act(shop, order_id, action, TRACKING, days=0)
    assert await async_erase_once(shop.app) == 1
    async with shop.app[DB]() as session:
        stored = await shipping.address_of(session, shop.settings.secret_key, order_id)
    assert stored.address is None and stored.erased_at is not None


async def _set_status(shop, order_id: str, status: str) -> None:
    """Stands for the refund flow (tested in its own area) having moved the order."""
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == order_id).values(status=status)  # type: ignore[arg-type]
        )


async def test_a_partly_refunded_order_still_ships_a_refunded_one_does_not(shop):
    partly = await _paid_order(shop)
    await _set_status(shop, partly, "partly_refunded")
    order = await _act(shop, partly, ShippingAction.PACK)
    assert order.fulfilment == "packed"

    refunded = await _paid_order(shop)
    await _act(shop, refunded, ShippingAction.PACK)
    await _set_status(shop, refunded, "refunded")
    assert await _refused(shop, refunded, ShippingAction.SHIP, TRACKING) == "not_paid"
    # Its address goes like an unpaid order's: the configured days after it ended.
    async with shop.app[DB]() as session, session.begin():
        erased = await shipping.erase_due_addresses(
            session, 30, now=utcnow() + timedelta(days=30, minutes=1)
        )
    assert erased == 1
    async with shop.app[DB]() as session:
        key = shop.settings.secret_key
        assert (await shipping.address_of(session, key, refunded)).address is None
        assert (await shipping.address_of(session, key, partly)).address is not None
