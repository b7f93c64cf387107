"""Stock in the console: available / held / sold per product, the CSV import previewed
with per-line errors (duplicate or malformed serials refuse the file, nothing written),
the low-stock mail sent to operators once per crossing, and a unit found by its serial."""

from __future__ import annotations

import re
import secrets

import aiohttp
from sqlalchemy import func, select

from cloud.admin.models import AuditEntry
from cloud.inventory.low_stock import async_check_once
from cloud.inventory.models import StockUnit
from cloud.web.keys import DB
from tests.cloud.admin.common import new_operator
from tests.cloud.common import csrf_from


async def _operator(shop, aiohttp_client, email: str):
    client = await aiohttp_client(shop.client.server)
    await new_operator(client, shop.smtp, shop.settings, email)
    return client


async def _unit_count(shop) -> int:
    async with shop.app[DB]() as session:
        return int(await session.scalar(select(func.count()).select_from(StockUnit)) or 0)


def _level(html: str, sku: str) -> tuple[int, int, int]:
    row = re.search(rf'<tr class="stock-level[^"]*" data-sku="{sku}">(.*?)</tr>', html, re.S)
    assert row, sku
    cells = [
        int(re.search(rf'class="{name}">(\d+)<', row.group(1)).group(1))  # type: ignore[union-attr]
        for name in ("available", "held", "sold")
    ]
    return cells[0], cells[1], cells[2]


async def _post(client, path: str, data: dict[str, str]):
    token = csrf_from(await (await client.get("/admin/stock")).text())
    return await client.post(path, data={**data, "csrf_token": token}, allow_redirects=False)


async def test_levels_per_product_and_a_unit_found_by_serial(shop, aiohttp_client, unique_id):
    stock = await shop.add_stock("EPD-1", 3)
    sold = await shop.place_order("EPD-1", email=f"owner-{unique_id}@example.com")
    await shop.pay(sold, "pay", "confirm")
    await shop.wait_status(sold, "paid")
    held = await shop.place_order("EPD-1", email="holder@example.com")
    operator = await _operator(shop, aiohttp_client, f"op-{unique_id}@example.org")

    html = await (await operator.get("/admin/stock")).text()
    assert _level(html, "EPD-1") == (1, 1, 1)
    assert _level(html, "PLUG-ZB") == (0, 0, 0)

    async with shop.app[DB]() as session:
        units = {u.serial: u for u in await session.scalars(select(StockUnit))}
    sold_serial = next(s for s in stock if units[s].order_id == sold)
    page = await operator.get(f"/admin/stock/unit?serial={sold_serial.lower()}")
    html = await page.text()
    assert page.status == 200
    assert 'class="unit-state">sold<' in html and f"{sold} (paid)" in html
    assert f'class="unit-owner">owner-{unique_id}@example.com<' in html
    held_serial = next(s for s in stock if units[s].order_id == held)
    html = await (await operator.get(f"/admin/stock/unit?serial={held_serial}")).text()
    assert 'class="unit-state">held<' in html
    missing = await operator.get("/admin/stock/unit?serial=EPD-999999")
    assert missing.status == 404 and "No unit has the serial EPD-999999" in await missing.text()
    # Customers never see it.
    assert (await shop.client.get("/admin/stock", allow_redirects=False)).status in (303, 403)


async def test_import_preview_shows_each_bad_line_and_writes_nothing(
    shop, aiohttp_client, unique_id
):
    existing = await shop.add_stock("EPD-1", 1)
    [(known_serial, _secret)] = existing.items()
    operator = await _operator(shop, aiohttp_client, f"op-{unique_id}@example.org")
    good = secrets.token_hex(32)
    bad_csv = (
        "serial,sku,claim_secret\n"
        f"EPD-700001,EPD-1,{good}\n"
        f"EPD-700001,EPD-1,{secrets.token_hex(32)}\n"  # line 3: repeats line 2
        f"epd 7,EPD-1,{secrets.token_hex(32)}\n"  # line 4: malformed serial
        f"EPD-700002,NOPE,{secrets.token_hex(32)}\n"  # line 5: unknown product
        "EPD-700003,EPD-1,abc\n"  # line 6: short secret
    )
    before = await _unit_count(shop)
    for path in ("/admin/stock/preview", "/admin/stock/import"):
        response = await _post(operator, path, {"csv": bad_csv})
        assert response.status == 422, path
        html = await response.text()
        for fragment in (
            "line 3: serial EPD-700001 repeats line 2",
            "line 4: serial &#39;epd 7&#39; should look like EPD-000123",
            "line 5: sku &#39;NOPE&#39; is not in the catalog",
            "line 6: claim_secret must be 64 hex digits",
        ):
            assert fragment in html, (path, fragment)
    # A serial already in stock under another secret is refused too.
    clash = f"serial,sku,claim_secret\n{known_serial},EPD-1,{secrets.token_hex(32)}\n"
    response = await _post(operator, "/admin/stock/preview", {"csv": clash})
    assert response.status == 422
    assert f"line 2: {known_serial} is already in stock with a different" in await response.text()
    assert await _unit_count(shop) == before

    good_csv = (
        "serial,sku,claim_secret\n"
        f"EPD-700001,EPD-1,{good}\n"
        f"EPD-700002,PLUG-ZB,{secrets.token_hex(32)}\n"
    )
    response = await _post(operator, "/admin/stock/preview", {"csv": good_csv})
    html = await response.text()
    assert response.status == 200
    assert "This import adds <strong>2</strong> units (EPD-1 1, PLUG-ZB 1)" in html
    assert await _unit_count(shop) == before  # a preview writes nothing
    response = await _post(operator, "/admin/stock/import", {"csv": good_csv})
    assert response.status == 200
    assert "Imported: 2 units added" in await response.text()
    assert await _unit_count(shop) == before + 2
    async with shop.app[DB]() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action == "stock.imported")
            )
        )
    assert actions == ["stock.imported"]


async def test_low_stock_mails_operators_once_per_crossing(shop, aiohttp_client, unique_id):
    operator_email = f"op-{unique_id}@example.org"
    operator = await _operator(shop, aiohttp_client, operator_email)
    await shop.add_stock("EPD-1", 3)
    response = await _post(operator, "/admin/stock/EPD-1/threshold", {"threshold": "two"})
    assert response.status == 422
    response = await _post(operator, "/admin/stock/EPD-1/threshold", {"threshold": "2"})
    assert response.status == 303

    # The first check: every product without stock is low (one mail); EPD-1 is not.
    mails = len(shop.smtp.messages_to(operator_email))
    first = await async_check_once(shop.app)
    assert "EPD-1" not in first and "PLUG-ZB" in first
    message = await shop.smtp.wait_for(operator_email, count=mails + 1)
    assert message["Subject"] == f"Low stock: {len(first)} products"
    assert "Zigbee Power Plug (PLUG-ZB): 0 left" in message.get_content()
    assert "(EPD-1)" not in message.get_content()

    async def sell_one() -> None:
        order_id = await shop.place_order("EPD-1", email="buyer@example.com")
        await shop.pay(order_id, "pay", "confirm")
        await shop.wait_status(order_id, "paid")

    await sell_one()  # 2 unsold left: at the threshold
    assert await async_check_once(shop.app) == ["EPD-1"]
    message = await shop.smtp.wait_for(operator_email, count=mails + 2)
    assert message["Subject"] == "Low stock: Ethos Presence Detector"
    body = message.get_content()
    assert "Ethos Presence Detector (EPD-1): 2 left" in body and "/admin/stock" in body
    await sell_one()
    assert await async_check_once(shop.app) == []  # still low: no second mail

    # An import lifts it above the threshold (re-armed); selling down mails again.
    csv = "serial,sku,claim_secret\n" + "".join(
        f"EPD-80000{n},EPD-1,{secrets.token_hex(32)}\n" for n in range(3)
    )
    assert (await _post(operator, "/admin/stock/import", {"csv": csv})).status == 200
    assert await async_check_once(shop.app) == []
    await sell_one()
    await sell_one()
    assert await async_check_once(shop.app) == ["EPD-1"]
    await shop.smtp.wait_for(operator_email, count=mails + 3)


async def test_the_import_takes_an_uploaded_file(shop, aiohttp_client, unique_id):
    operator = await _operator(shop, aiohttp_client, f"op-{unique_id}@example.org")
    csv = f"serial,sku,claim_secret\nEPD-900001,EPD-1,{secrets.token_hex(32)}\n"
    token = csrf_from(await (await operator.get("/admin/stock")).text())
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", csv.encode(), filename="units.csv", content_type="text/csv")
    response = await operator.post("/admin/stock/preview", data=form)
    html = await response.text()
    assert response.status == 200, html
    assert "This import adds <strong>1</strong> units (EPD-1 1)" in html
    form = aiohttp.FormData()
    form.add_field("csrf_token", token)
    form.add_field("file", b"\xff\xfe not text", filename="units.csv")
    response = await operator.post("/admin/stock/preview", data=form)
    assert response.status == 422 and "The file is not UTF-8 text." in await response.text()
