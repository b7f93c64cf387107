"""The simulator's own pages: the invoice list at `/`, readable amounts, the favicon and the
one-press "Pay and confirm"."""

from __future__ import annotations

import re
from decimal import Decimal

from tests.cloud.payments.sim_support import running_simulator


async def _invoice(greenfield, order_id: str, amount: str):
    return await greenfield.create_invoice(
        order_id, Decimal(amount), "EUR", f"http://shop/orders/{order_id}", "MediumSpeed", 15
    )


async def _text(sim, path: str) -> str:
    async with sim.session.get(f"{sim.url}{path}") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        return await response.text()


async def test_a_fresh_simulator_says_it_has_no_invoices_yet() -> None:
    # Always in-process: the e2e tier's simulator process is shared and has invoices.
    async with running_simulator(None) as fresh:
        assert "No invoices yet" in await _text(fresh, "/")


async def test_root_page_lists_every_invoice_with_a_link_newest_first(sim, greenfield):
    first = await _invoice(greenfield, "order-one", "25.00")
    second = await _invoice(greenfield, "order-two", "50.00")

    html = await _text(sim, "/")

    assert f'href="/i/{first.id}"' in html and f'href="/i/{second.id}"' in html
    assert "order-one" in html and "order-two" in html
    assert "25.00 EUR" in html and "0.00050000 BTC" in html and "0.00100000 BTC" in html
    assert "No invoices yet" not in html
    assert html.index(f"/i/{second.id}") < html.index(f"/i/{first.id}")


async def test_amounts_read_as_eight_decimals_and_no_none_anywhere(sim, greenfield):
    invoice = await _invoice(greenfield, "o", "25.00")
    fresh = await _text(sim, f"/i/{invoice.id}")
    assert "paid 0.00000000 BTC" in fresh and "due 0.00050000 BTC" in fresh
    async with sim.session.post(f"{sim.url}/i/{invoice.id}/test/pay") as response:
        assert response.status == 200  # followed back to the invoice page

    paid = await _text(sim, f"/i/{invoice.id}")
    listing = await _text(sim, "/")

    assert "paid 0.00050000 BTC" in paid and "due 0.00000000 BTC" in paid
    assert "?amount=0.00000000" in paid
    for html in (fresh, paid, listing):
        assert "E-" not in html  # never Decimal's exponent form such as 0E-8
        assert "(None)" not in html and "None" not in html


async def test_pages_carry_an_inline_favicon(sim, greenfield):
    invoice = await _invoice(greenfield, "o", "10.00")
    for path in ("/", f"/i/{invoice.id}"):
        html = await _text(sim, path)
        assert re.search(r'<link rel="icon" href="data:image/svg\+xml,', html), path


async def test_pay_and_confirm_settles_in_one_press(sim, greenfield):
    invoice = await _invoice(greenfield, "o", "10.00")
    page = await _text(sim, f"/i/{invoice.id}")
    assert "Pay and confirm" in page and "Mine blocks (confirm)" in page

    async with sim.session.post(
        f"{sim.url}/i/{invoice.id}/test/pay-confirm", allow_redirects=False
    ) as response:
        assert response.status == 303

    settled = await greenfield.get_invoice(invoice.id)
    assert settled.status == "Settled"
    assert "Settled" in await _text(sim, "/")
