"""The simulator's checkout page: amount, BIP21 URI, QR code and the test buttons."""

from __future__ import annotations

from html import escape

import segno

from cloud.payments.sim_state import SimInvoice

_LABELS = {
    "pay": "Pay in full",
    "pay-part": "Pay part",
    "overpay": "Overpay",
    "confirm": "Mine blocks (confirm)",
    "expire": "Expire invoice",
}


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
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {escape(invoice.id)}</title></head>
<body>
<h1>BTCPay simulator: invoice {escape(invoice.id)}</h1>
<p>Amount: <strong>{escape(str(invoice.amount))} {escape(invoice.currency)}</strong>
 = <span class="btc">{invoice.btc_amount} BTC</span></p>
<p>Status: <strong class="status">{escape(invoice.status)}</strong>
 ({escape(invoice.additional_status)}); paid {invoice.btc_paid} BTC, due {invoice.btc_due} BTC</p>
<p>Pay to: <code class="bip21">{escape(invoice.bip21)}</code></p>
<div class="qr">{qr_svg}</div>
<h2>Test buttons (like BTCPay's regtest cheat mode)</h2>
{buttons}
{back}
</body></html>"""
