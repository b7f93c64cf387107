"""The BTCPay simulator's in-memory store: invoices, payments, webhooks and their events.

No I/O here: operations change state and return the webhook events they raise, which
`delivery` sends. Shapes follow BTCPay Server's Greenfield v1 models.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

SATOSHI = Decimal("0.00000001")
SPEED_CONFIRMATIONS = {"HighSpeed": 0, "MediumSpeed": 1, "LowMediumSpeed": 2, "LowSpeed": 6}
DEFAULT_EXPIRY_MINUTES = 15
DEFAULT_MONITORING_MINUTES = 1440
PAYMENT_METHOD = "BTC-CHAIN"


def format_btc(value: Decimal) -> str:
    """Bitcoin amounts as people read them: eight decimals, never `0E-8`."""
    return f"{value.quantize(SATOSHI):f}"


def new_id(length: int = 22) -> str:
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass
class SimPayment:
    id: str
    value: Decimal
    received: int
    status: str  # Processing, Settled, Invalid
    destination: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "receivedDate": self.received,
            "value": format_btc(self.value),
            "fee": "0.00000000",
            "status": self.status,
            "destination": self.destination,
        }


@dataclass
class SimInvoice:
    id: str
    store_id: str
    amount: Decimal
    currency: str
    metadata: dict[str, Any]
    checkout: dict[str, Any]
    created: int
    expires: int
    monitoring_until: int
    rate: Decimal
    status: str = "New"
    additional_status: str = "None"
    payments: list[SimPayment] = field(default_factory=list)

    @property
    def btc_amount(self) -> Decimal:
        return (self.amount / self.rate).quantize(SATOSHI, rounding=ROUND_UP)

    @property
    def btc_paid(self) -> Decimal:
        return sum((p.value for p in self.payments if p.status != "Invalid"), Decimal(0))

    @property
    def btc_due(self) -> Decimal:
        return self.btc_amount - self.btc_paid

    @property
    def address(self) -> str:
        digest = hashlib.sha256(self.id.encode()).hexdigest()
        return "bcrt1q" + digest[:38]

    @property
    def bip21(self) -> str:
        return f"bitcoin:{self.address}?amount={format_btc(max(self.btc_due, Decimal(0)))}"

    def to_json(self, base_url: str) -> dict[str, Any]:
        paid_fiat = (self.btc_paid * self.rate).quantize(Decimal("0.01"))
        return {
            "id": self.id,
            "storeId": self.store_id,
            "amount": str(self.amount),
            "paidAmount": str(paid_fiat),
            "currency": self.currency,
            "type": "Standard",
            "checkoutLink": f"{base_url}/i/{self.id}",
            "createdTime": self.created,
            "expirationTime": self.expires,
            "monitoringExpiration": self.monitoring_until,
            "status": self.status,
            "additionalStatus": self.additional_status,
            "availableStatusesForManualMarking": [
                s for s in ("Settled", "Invalid") if s != self.status
            ],
            "archived": False,
            "metadata": self.metadata,
            "checkout": self.checkout,
            "receipt": {"enabled": True, "showQR": None, "showPayments": None},
        }

    def payment_methods_json(self) -> list[dict[str, Any]]:
        return [
            {
                "paymentMethodId": PAYMENT_METHOD,
                "currency": "BTC",
                "destination": self.address,
                "paymentLink": self.bip21,
                "rate": str(self.rate),
                "paymentMethodPaid": format_btc(self.btc_paid),
                "totalPaid": format_btc(self.btc_paid),
                "due": format_btc(self.btc_due),
                "amount": format_btc(self.btc_amount),
                "paymentMethodFee": "0.00000000",
                "payments": [p.to_json() for p in self.payments],
                "activated": True,
                "additionalData": {},
            }
        ]


@dataclass
class SimWebhook:
    id: str
    url: str
    secret: str
    enabled: bool = True
    automatic_redelivery: bool = True
    everything: bool = True
    specific_events: tuple[str, ...] = ()

    def wants(self, event_type: str) -> bool:
        return self.enabled and (self.everything or event_type in self.specific_events)

    def to_json(self, with_secret: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "enabled": self.enabled,
            "automaticRedelivery": self.automatic_redelivery,
            "url": self.url,
            "authorizedEvents": {
                "everything": self.everything,
                "specificEvents": list(self.specific_events),
            },
        }
        if with_secret:
            data["secret"] = self.secret
        return data


@dataclass
class Event:
    """A webhook event before it is addressed to a webhook."""

    type: str
    invoice: SimInvoice
    extra: dict[str, Any]

    def subject(self) -> dict[str, Any]:
        """The fields naming what the event is about (BTCPay's WebhookInvoiceEvent)."""
        return {
            "storeId": self.invoice.store_id,
            "invoiceId": self.invoice.id,
            "metadata": self.invoice.metadata,
        }


class SimStore:
    """All simulator state for its single BTCPay store."""

    def __init__(self, store_id: str, rate: Decimal) -> None:
        self.store_id = store_id
        self.rate = rate
        self.invoices: dict[str, SimInvoice] = {}
        self.webhooks: dict[str, SimWebhook] = {}

    def create_invoice(
        self, amount: Decimal, currency: str, metadata: dict[str, Any], checkout: dict[str, Any]
    ) -> tuple[SimInvoice, list[Event]]:
        now = int(time.time())
        expiry = checkout.get("expirationMinutes") or DEFAULT_EXPIRY_MINUTES
        monitoring = checkout.get("monitoringMinutes") or DEFAULT_MONITORING_MINUTES
        full_checkout = {
            "speedPolicy": checkout.get("speedPolicy") or "MediumSpeed",
            "paymentMethods": [PAYMENT_METHOD],
            "defaultPaymentMethod": PAYMENT_METHOD,
            "expirationMinutes": expiry,
            "monitoringMinutes": monitoring,
            "paymentTolerance": 0,
            "redirectURL": checkout.get("redirectURL"),
            "redirectAutomatically": bool(checkout.get("redirectAutomatically")),
            "defaultLanguage": None,
        }
        invoice = SimInvoice(
            id=new_id(),
            store_id=self.store_id,
            amount=amount,
            currency=currency,
            metadata=metadata,
            checkout=full_checkout,
            created=now,
            expires=now + int(Decimal(str(expiry)) * 60),
            monitoring_until=now + int(Decimal(str(expiry)) * 60) + int(monitoring) * 60,
            rate=self.rate,
        )
        self.invoices[invoice.id] = invoice
        return invoice, [Event("InvoiceCreated", invoice, {})]

    def pay(self, invoice: SimInvoice, value: Decimal) -> list[Event]:
        """A payment of `value` BTC reaches the invoice's address (unconfirmed)."""
        if invoice.status in ("Settled", "Invalid") or value <= 0:
            return []
        late = invoice.status == "Expired"
        payment = SimPayment(
            new_id(16), value.quantize(SATOSHI), int(time.time()), "Processing", invoice.address
        )
        invoice.payments.append(payment)
        events = [
            Event(
                "InvoiceReceivedPayment",
                invoice,
                {
                    "afterExpiration": late,
                    "paymentMethodId": PAYMENT_METHOD,
                    "payment": payment.to_json(),
                },
            )
        ]
        if late:
            if invoice.btc_due <= 0:
                invoice.additional_status = "PaidLate"
                events.append(Event("InvoicePaidAfterExpiration", invoice, {}))
            return events
        if invoice.btc_due > 0:
            invoice.additional_status = "PaidPartial"
            return events
        invoice.additional_status = "PaidOver" if invoice.btc_due < 0 else "None"
        if SPEED_CONFIRMATIONS.get(invoice.checkout["speedPolicy"], 1) == 0:
            return events + self.confirm(invoice)
        invoice.status = "Processing"
        events.append(
            Event(
                "InvoiceProcessing", invoice, {"overPaid": invoice.additional_status == "PaidOver"}
            )
        )
        return events

    def confirm(self, invoice: SimInvoice) -> list[Event]:
        """Mine enough blocks: every payment confirms; a fully paid invoice settles."""
        events: list[Event] = []
        for payment in invoice.payments:
            if payment.status == "Processing":
                payment.status = "Settled"
                events.append(
                    Event(
                        "InvoicePaymentSettled",
                        invoice,
                        {
                            "afterExpiration": False,
                            "paymentMethodId": PAYMENT_METHOD,
                            "payment": payment.to_json(),
                        },
                    )
                )
        if invoice.status in ("New", "Processing") and invoice.btc_due <= 0:
            invoice.status = "Settled"
            events.append(
                Event(
                    "InvoiceSettled",
                    invoice,
                    {
                        "manuallyMarked": False,
                        "overPaid": invoice.additional_status == "PaidOver",
                    },
                )
            )
        return events

    def expire(self, invoice: SimInvoice) -> list[Event]:
        if invoice.status != "New":
            return []
        invoice.status = "Expired"
        invoice.expires = min(invoice.expires, int(time.time()))
        partial = invoice.btc_paid > 0
        invoice.additional_status = "PaidPartial" if partial else "None"
        events = [Event("InvoiceExpired", invoice, {"partiallyPaid": partial})]
        if partial:
            events.append(Event("InvoiceExpiredPaidPartial", invoice, {}))
        return events

    def mark(self, invoice: SimInvoice, status: str) -> list[Event]:
        """Manual marking by the merchant (`POST …/status`)."""
        if status == invoice.status:
            return []
        invoice.status = status
        invoice.additional_status = "Marked"
        kind = "InvoiceSettled" if status == "Settled" else "InvoiceInvalid"
        extra: dict[str, Any] = {"manuallyMarked": True}
        if status == "Settled":
            extra["overPaid"] = False
        return [Event(kind, invoice, extra)]

    def expire_due(self, now: int) -> list[Event]:
        events: list[Event] = []
        for invoice in self.invoices.values():
            if invoice.status == "New" and invoice.expires <= now:
                events.extend(self.expire(invoice))
        return events
