"""The simulator's pages: the list of invoices at `/` and each invoice's checkout page
(amount, BIP21 URI, QR code and the test buttons)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from html import escape

import segno

from cloud.btcpay_simulator.state import SimInvoice, format_btc

_LABELS = {
    "pay-confirm": "Pay and confirm",
    "pay": "Pay in full",
    "pay-part": "Pay part",
    "overpay": "Overpay",
    "confirm": "Mine blocks (confirm)",
    "expire": "Expire invoice",
}
# Inline, so a browser never asks for /favicon.ico (a 404 on every page otherwise).
_FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Ccircle cx='8' cy='8' r='8' fill='%23f7931a'/%3E%3C/svg%3E"
)
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem}"
    "h1,h2{overflow-wrap:anywhere}"
    "table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.3rem;"
    "border-bottom:1px solid #ddd;overflow-wrap:anywhere}form{display:inline-block;margin:.2rem}"
    ".qr svg{max-width:100%;height:auto}code{overflow-wrap:anywhere}"
)


def _page(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><link rel="icon" href="{_FAVICON}">
<style>{_STYLE}</style></head>
<body>
{body}
</body></html>"""


def _status(invoice: SimInvoice) -> str:
    """The status, with BTCPay's additional status only when there is one."""
    extra = invoice.additional_status
    suffix = f" ({escape(extra)})" if extra and extra != "None" else ""
    return f'<strong class="status">{escape(invoice.status)}</strong>{suffix}'


def checkout_page(invoice: SimInvoice, actions: tuple[str, ...]) -> str:
    qr_svg = segno.make(invoice.bip21, error="m").svg_inline(scale=4)
    buttons = "\n".join(
        f'<form method="post" action="/i/{escape(invoice.id)}/test/{action}">'
        f'<button type="submit">{escape(_LABELS[action])}</button></form>'
        for action in actions
    )
    redirect = invoice.checkout.get("redirectURL")
    back = (
        f'<p><a href="{escape(redirect)}">Return to the store</a></p>'
        if redirect and invoice.status != "New"
        else ""
    )
    return _page(
        f"Invoice {invoice.id}",
        f"""<p><a href="/">All invoices</a></p>
<h1>BTCPay simulator: invoice {escape(invoice.id)}</h1>
<p>Amount: <strong>{escape(str(invoice.amount))} {escape(invoice.currency)}</strong>
 = <span class="btc">{format_btc(invoice.btc_amount)} BTC</span></p>
<p>Status: {_status(invoice)}; paid {format_btc(invoice.btc_paid)} BTC,
 due {format_btc(max(invoice.btc_due, Decimal(0)))} BTC</p>
<p>Pay to: <code class="bip21">{escape(invoice.bip21)}</code></p>
<div class="qr">{qr_svg}</div>
<h2>Test buttons (like BTCPay's regtest cheat mode)</h2>
<p>A real payment is seen first, then confirmed by mined blocks: press "Pay in full", then
"Mine blocks (confirm)" — or both at once with "Pay and confirm".</p>
{buttons}
{back}""",
    )


def invoices_page(invoices: Iterable[SimInvoice]) -> str:
    """Every invoice of the simulator's store, newest first, each linked to its page."""
    rows = "\n".join(
        f'<tr><td><a href="/i/{escape(inv.id)}">{escape(inv.id)}</a></td>'
        f"<td>{escape(str(inv.metadata.get('orderId', '')))}</td>"
        f"<td>{escape(str(inv.amount))} {escape(inv.currency)}</td>"
        f"<td>{format_btc(inv.btc_amount)} BTC</td><td>{_status(inv)}</td>"
        f"<td>{datetime.fromtimestamp(inv.created, UTC):%Y-%m-%d %H:%M} UTC</td></tr>"
        # Reversed first: invoices made in the same second still come newest first.
        for inv in sorted(reversed(list(invoices)), key=lambda inv: inv.created, reverse=True)
    )
    table = (
        "<table><thead><tr><th>Invoice</th><th>Order</th><th>Amount</th><th>Bitcoin</th>"
        f"<th>Status</th><th>Created</th></tr></thead><tbody>\n{rows}\n</tbody></table>"
        if rows
        else '<p class="empty">No invoices yet: place an order in the store.</p>'
    )
    return _page(
        "BTCPay simulator",
        f"""<h1>BTCPay simulator</h1>
<p>A stand-in for BTCPay Server during development: it makes invoices for the store and
pays them when you press its test buttons.</p>
<h2>Invoices</h2>
{table}""",
    )
