"""The console's orders: each filter and search, pages, the detail (lines, timeline with
amounts, ownership), the CSV export, and bad input answered with a 422."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from cloud.admin.models import AuditEntry
from cloud.admin.orders import OrderFilter, find_orders
from cloud.checkout.models import Order
from cloud.inventory.models import Ownership, StockUnit
from cloud.web.keys import DB
from tests.cloud.admin.common import new_operator
from tests.cloud.checkout.shop import Shop

ORDER_ROW = re.compile(r'<tr class="order-row" data-order="([^"]+)">')


async def _listed(shop: Shop, **params: str) -> list[str]:
    response = await shop.client.get("/admin/orders", params=params)
    assert response.status == 200, await response.text()
    return ORDER_ROW.findall(await response.text())


async def _orders(shop: Shop) -> dict[str, str]:
    """A paid EPD-1 order (a@), an unpaid PLUG-OPEN order (b@), an unpaid EPD-1 order
    placed ten days ago (b@); then an operator signs in on the same client."""
    units = await shop.add_stock("EPD-1", 2)
    await shop.add_stock("PLUG-OPEN", 2)
    paid = await shop.place_order("EPD-1", 1, email="a@example.org")
    await shop.pay(paid, "pay", "confirm")
    await shop.wait_status(paid, "paid")
    open_plug = await shop.place_order("PLUG-OPEN", 2, email="b@example.org")
    old = await shop.place_order("EPD-1", 1, email="b@example.org")
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(Order)
            .where(Order.id == old)
            .values(created_at=datetime.now(UTC) - timedelta(days=10))
        )
    await new_operator(shop.client, shop.smtp, shop.settings, "op@example.org")
    async with shop.app[DB]() as session:
        serial = await session.scalar(
            select(StockUnit.serial)
            .join(Ownership, Ownership.unit_id == StockUnit.id)
            .where(Ownership.order_id == paid)
        )
    assert serial in units
    return {"paid": paid, "open": open_plug, "old": old, "serial": serial}


async def test_each_filter_and_search_finds_the_right_orders(shop: Shop):
    ids = await _orders(shop)
    everything = await _listed(shop)
    assert everything == [ids["open"], ids["paid"], ids["old"]]  # newest first

    assert await _listed(shop, status="paid") == [ids["paid"]]
    assert await _listed(shop, status="awaiting_payment") == [ids["open"], ids["old"]]
    assert await _listed(shop, product="PLUG-OPEN") == [ids["open"]]
    assert await _listed(shop, product="EPD-1") == [ids["paid"], ids["old"]]
    today = datetime.now(UTC).date()
    assert await _listed(shop, **{"from": today.isoformat()}) == [ids["open"], ids["paid"]]
    ten_days_ago = (today - timedelta(days=10)).isoformat()
    assert await _listed(shop, **{"from": ten_days_ago, "to": ten_days_ago}) == [ids["old"]]
    assert await _listed(shop, status="awaiting_payment", product="EPD-1") == [ids["old"]]

    assert await _listed(shop, q=ids["paid"]) == [ids["paid"]]
    assert await _listed(shop, q="B@Example.org") == [ids["open"], ids["old"]]
    assert await _listed(shop, q=ids["serial"]) == [ids["paid"]]
    assert await _listed(shop, q=ids["serial"].lower()) == [ids["paid"]]
    assert await _listed(shop, q="nobody@example.org") == []


async def test_pages_follow_each_other_without_gaps_or_repeats(shop: Shop):
    ids = await _orders(shop)
    async with shop.app[DB]() as session:
        first = await find_orders(session, OrderFilter(), limit=2)
        assert [o.id for o in first.orders] == [ids["open"], ids["paid"]]
        assert first.next_cursor
        from cloud.admin.orders import Cursor

        second = await find_orders(session, OrderFilter(), Cursor.decode(first.next_cursor), 2)
    assert [o.id for o in second.orders] == [ids["old"]] and second.next_cursor is None


async def test_bad_filters_are_refused_with_what_to_fix(shop: Shop):
    await new_operator(shop.client, shop.smtp, shop.settings, "op@example.org")
    for params, field in (
        ({"status": "shipped-to-mars"}, "There is no such order status"),
        ({"product": "NOPE"}, "There is no such product"),
        ({"from": "yesterday"}, "YYYY-MM-DD"),
        ({"from": "2026-12-05", "to": "2026-12-01"}, "before the start date"),
        ({"after": "%%%not-a-cursor"}, "That page link is broken"),
        ({"q": "x" * 300}, "at most 254"),
    ):
        response = await shop.client.get("/admin/orders", params=params)
        assert response.status == 422, params
        assert field in await response.text(), params
    response = await shop.client.get("/admin/orders.csv", params={"status": "nope"})
    assert response.status == 422


async def test_the_detail_shows_lines_ownership_and_the_invoice_timeline(shop: Shop):
    ids = await _orders(shop)
    page = await (await shop.client.get(f"/admin/orders/{ids['paid']}")).text()
    assert "Electronic" in page or "EPD-1" in page
    units = re.findall(r'<tr class="unit"><td>([^<]+)</td><td>[^<]+</td><td>([^<]+)</td>', page)
    assert units == [(ids["serial"], "a@example.org")]
    steps = re.findall(
        r'<tr class="timeline-step">\s*<td>[^<]+</td>\s*<td>(\w+)</td>\s*<td>(\w+)</td>', page
    )
    kinds = [kind for source, kind in steps if source == "webhook"]
    assert "InvoiceReceivedPayment" in kinds and "InvoiceSettled" in kinds
    # The payment's value (in BTC, as BTCPay reports it) and the invoice amount are shown.
    order = await shop.order(ids["paid"])
    assert f"{order.total} {order.currency}" in page
    assert re.search(r"<td>0\.\d+</td>", page)
    assert "verified" in page  # the deliveries of this invoice, from the webhook log

    await shop.sim.act(
        order.invoice_id or "", "pay"
    )  # a late extra payment, seen by the reconciler
    async with shop.app[DB]() as session, session.begin():
        await session.execute(
            update(Order).where(Order.id == ids["open"]).values(next_check_at=datetime.now(UTC))
        )
    await shop.reconcile()
    page = await (await shop.client.get(f"/admin/orders/{ids['open']}")).text()
    assert "<td>reconciler</td>" in page

    assert (await shop.client.get("/admin/orders/no-such-order")).status == 404


async def test_the_csv_export_streams_the_filtered_list_and_is_audited(shop: Shop):
    ids = await _orders(shop)
    response = await shop.client.get("/admin/orders.csv", params={"q": "b@example.org"})
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0][:4] == ["order_id", "placed_at", "status", "email"]
    # An id may start with "-" (1 in 64 of random ids): the export guards it against being
    # read as a spreadsheet formula with a leading quote.
    assert [row[0].removeprefix("'") for row in rows[1:]] == [ids["open"], ids["old"]]
    assert rows[1][3] == "b@example.org" and rows[1][-1].startswith("PLUG-OPEN x2 @ ")
    async with shop.app[DB]() as session:
        entry = (
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "orders.exported"))
        ).one()
    assert entry.actor_email == "op@example.org" and "b@example.org" in entry.details


async def test_the_csv_export_guards_cells_a_spreadsheet_would_run_as_formulas(shop: Shop):
    ids = await _orders(shop)
    formula = "=HYPERLINK(1)@example.org"  # an address as it might have come in before checks
    async with shop.app[DB]() as session, session.begin():
        await session.execute(update(Order).where(Order.id == ids["old"]).values(email=formula))
    response = await shop.client.get("/admin/orders.csv", params={"product": "EPD-1"})
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert [row[3] for row in rows[1:]] == ["a@example.org", f"'{formula}"]
