"""Two operators acting on the same order at the same time: the second is refused clearly
and nothing of its action is written (the helper every console order action uses)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from cloud.admin.audit import record
from cloud.admin.locking import NO_SUCH_ORDER, ORDER_CHANGED, claim_order, version_from_form
from cloud.admin.models import AuditEntry
from cloud.checkout.models import Order
from cloud.domain import InputErrors, RefusedError
from cloud.web.keys import DB


async def _order(client: TestClient, order_id: str) -> Order:
    async with client.app[DB]() as session, session.begin():
        session.add(
            Order(
                id=order_id,
                email="buyer@example.org",
                status="paid",
                total=Decimal("49.00"),
                currency="EUR",
            )
        )
    async with client.app[DB]() as session:
        order = await session.get(Order, order_id)
    assert order is not None and order.version == 0
    return order


async def test_the_second_operator_on_the_same_version_is_refused_and_writes_nothing(
    client: TestClient,
):
    shown = await _order(client, "o-lock-1")
    async with client.app[DB]() as session, session.begin():
        order = await claim_order(session, shown.id, shown.version)
        order.payment_problem = "first operator's note"
        await record(session, "first@example.org", "order.noted", f"order:{shown.id}")

    with pytest.raises(RefusedError) as refused:
        async with client.app[DB]() as session, session.begin():
            await record(session, "second@example.org", "order.noted", f"order:{shown.id}")
            order = await claim_order(session, shown.id, shown.version)
            order.payment_problem = "second operator's note"
    assert refused.value.refusal == ORDER_CHANGED and refused.value.refusal.status == 409

    async with client.app[DB]() as session:
        order = await session.get(Order, shown.id)
        entries = (await session.scalars(select(AuditEntry))).all()
    assert order is not None and order.version == 1
    assert order.payment_problem == "first operator's note"
    assert [entry.actor_email for entry in entries] == ["first@example.org"]

    async with client.app[DB]() as session, session.begin():
        assert (await claim_order(session, shown.id, 1)).version == 2  # reloaded: goes through


async def test_an_unknown_order_or_a_missing_version_is_refused(client: TestClient):
    async with client.app[DB]() as session, session.begin():
        with pytest.raises(RefusedError) as refused:
            await claim_order(session, "no-such-order", 0)
    assert refused.value.refusal == NO_SUCH_ORDER
    for bad in ("", None, "-1", "x", "1" * 20):
        with pytest.raises(InputErrors):
            version_from_form(bad)
    assert version_from_form(" 7 ") == 7
