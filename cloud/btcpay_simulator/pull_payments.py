"""The simulator's refunds: an invoice refund creates a pull payment, whose holder claims a
payout that the merchant approves and pays.

No I/O here, like `state`: operations change state and return the webhook events they raise
(PayoutCreated, PayoutApproved, PayoutUpdated). Shapes follow Greenfield's PullPaymentData
and PayoutData; amounts follow the refund variants of `RefundInvoiceRequest`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from cloud.btcpay_simulator.state import PAYMENT_METHOD, SATOSHI, SimInvoice, format_btc, new_id

BOLT11_EXPIRATION_DAYS = "30"
CENT = Decimal("0.01")
# A plausible on-chain destination: an address (any network) or a BIP21 URI naming one.
_DESTINATION = re.compile(r"^(bitcoin:)?(bc1|tb1|bcrt1|[123mn])[a-zA-Z0-9]{20,90}(\?.*)?$")


class PayoutState:
    AWAITING_APPROVAL = "AwaitingApproval"
    AWAITING_PAYMENT = "AwaitingPayment"
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    CANCELLED = "Cancelled"


PAYOUT_STATES = (
    PayoutState.AWAITING_APPROVAL,
    PayoutState.AWAITING_PAYMENT,
    PayoutState.IN_PROGRESS,
    PayoutState.COMPLETED,
    PayoutState.CANCELLED,
)


class RefundRefused(ValueError):
    """The request cannot be honoured; `path` names the field, as ValidationProblemDetails."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


@dataclass
class SimPullPayment:
    id: str
    store_id: str
    name: str
    description: str
    amount: Decimal
    currency: str
    invoice_id: str | None
    created: int
    archived: bool = False

    @property
    def divisibility(self) -> Decimal:
        return SATOSHI if self.currency == "BTC" else CENT

    def to_json(self, base_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "currency": self.currency,
            "amount": format_amount(self.amount, self.currency),
            "BOLT11Expiration": BOLT11_EXPIRATION_DAYS,
            "autoApproveClaims": False,
            "archived": self.archived,
            "viewLink": f"{base_url}/pull-payments/{self.id}",
        }


@dataclass
class SimPayout:
    id: str
    pull_payment_id: str
    destination: str
    original_amount: Decimal
    original_currency: str
    created: int
    state: str = PayoutState.AWAITING_APPROVAL
    revision: int = 0
    payout_amount: Decimal | None = None
    proof: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "revision": self.revision,
            "pullPaymentId": self.pull_payment_id,
            "date": str(self.created),
            "destination": self.destination,
            "originalCurrency": self.original_currency,
            "originalAmount": format_amount(self.original_amount, self.original_currency),
            "payoutCurrency": "BTC",
            "payoutAmount": (
                format_btc(self.payout_amount) if self.payout_amount is not None else None
            ),
            "payoutMethodId": PAYMENT_METHOD,
            "state": self.state,
            "metadata": {"source": "Claimed on the pull payment page"},
        }
        if self.proof:
            data["paymentProof"] = self.proof
        return data


@dataclass
class PayoutEvent:
    """A payout webhook event (PayoutCreated, PayoutApproved, PayoutUpdated)."""

    type: str
    payout: SimPayout
    store_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def subject(self) -> dict[str, Any]:
        return {
            "storeId": self.store_id,
            "payoutId": self.payout.id,
            "pullPaymentId": self.payout.pull_payment_id,
            "payoutState": self.payout.state,
        }


def format_amount(value: Decimal, currency: str) -> str:
    return format_btc(value) if currency == "BTC" else f"{value.quantize(CENT):f}"


def parse_positive(value: Any, path: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise RefundRefused(path, "Should be a positive decimal") from None
    if not amount.is_finite() or amount <= 0:
        raise RefundRefused(path, "Should be a positive decimal")
    return amount


class SimPullPayments:
    """Pull payments and payouts of the simulator's store, with the rate its invoices use."""

    def __init__(self, store_id: str, rate: Decimal) -> None:
        self.store_id = store_id
        self.rate = rate
        self.pull_payments: dict[str, SimPullPayment] = {}
        self.payouts: dict[str, SimPayout] = {}

    def refund(self, invoice: SimInvoice, body: dict[str, Any]) -> SimPullPayment:
        """`POST …/invoices/{id}/refund`: a pull payment for what the variant says is owed."""
        if invoice.btc_paid <= 0:
            raise RefundRefused("invoiceId", "This invoice has no payment to refund")
        variant = body.get("refundVariant")
        if variant in ("RateThen", "CurrentRate"):
            amount, currency = min(invoice.btc_paid, invoice.btc_amount), "BTC"
        elif variant == "Fiat":
            amount, currency = invoice.amount, invoice.currency
        elif variant == "OverpaidAmount":
            amount, currency = invoice.btc_paid - invoice.btc_amount, "BTC"
            if amount <= 0:
                raise RefundRefused("refundVariant", "Invoice is not overpaid")
        elif variant == "Custom":
            amount = parse_positive(body.get("customAmount"), "customAmount")
            currency = str(body.get("customCurrency") or "").upper()
            if currency not in ("BTC", invoice.currency):
                raise RefundRefused("customCurrency", "Use BTC or the invoice's currency")
        else:
            raise RefundRefused("refundVariant", "Unknown refund variant")
        if body.get("subtractPercentage") is not None:
            percent = parse_positive(body["subtractPercentage"], "subtractPercentage")
            if percent >= 100:
                raise RefundRefused("subtractPercentage", "Should be below 100")
            amount -= amount * percent / 100
        unit = SATOSHI if currency == "BTC" else CENT
        pull_payment = SimPullPayment(
            id=new_id(),
            store_id=self.store_id,
            name=str(body.get("name") or f"Refund {invoice.id}"),
            description=str(body.get("description") or ""),
            amount=amount.quantize(unit, rounding=ROUND_DOWN),
            currency=currency,
            invoice_id=invoice.id,
            created=int(time.time()),
        )
        self.pull_payments[pull_payment.id] = pull_payment
        return pull_payment

    def payouts_of(self, pull_payment: SimPullPayment) -> list[SimPayout]:
        return [p for p in self.payouts.values() if p.pull_payment_id == pull_payment.id]

    def remaining(self, pull_payment: SimPullPayment) -> Decimal:
        claimed = sum(
            (
                p.original_amount
                for p in self.payouts_of(pull_payment)
                if p.state != PayoutState.CANCELLED
            ),
            Decimal(0),
        )
        return pull_payment.amount - claimed

    def claim(
        self, pull_payment: SimPullPayment, destination: str, amount: Any = None
    ) -> tuple[SimPayout, list[PayoutEvent]]:
        """The holder of the view link names where the money goes (`POST …/payouts`)."""
        destination = destination.strip()
        if not _DESTINATION.match(destination):
            raise RefundRefused("destination", "Destination should be a bitcoin address")
        if pull_payment.archived:
            raise RefundRefused("pullPaymentId", "This pull payment is archived")
        remaining = self.remaining(pull_payment)
        wanted = remaining if amount in (None, "") else parse_positive(amount, "amount")
        if wanted <= 0 or wanted > remaining:
            raise RefundRefused(
                "amount",
                f"At most {format_amount(max(remaining, Decimal(0)), pull_payment.currency)} "
                f"{pull_payment.currency} can still be claimed",
            )
        payout = SimPayout(
            id=new_id(),
            pull_payment_id=pull_payment.id,
            destination=destination,
            original_amount=wanted,
            original_currency=pull_payment.currency,
            created=int(time.time()),
        )
        self.payouts[payout.id] = payout
        return payout, [PayoutEvent("PayoutCreated", payout, self.store_id)]

    def approve(self, payout: SimPayout, revision: Any = None) -> list[PayoutEvent]:
        """The merchant approves a claim: its bitcoin amount is fixed at today's rate."""
        if payout.state != PayoutState.AWAITING_APPROVAL:
            raise RefundRefused("state", f"The payout is {payout.state}, not AwaitingApproval")
        if revision is not None and revision != payout.revision:
            raise RefundRefused("revision", "The payout changed since; reload it")
        payout.payout_amount = (
            payout.original_amount
            if payout.original_currency == "BTC"
            else (payout.original_amount / self.rate).quantize(SATOSHI, rounding=ROUND_DOWN)
        )
        payout.state = PayoutState.AWAITING_PAYMENT
        payout.revision += 1
        return [PayoutEvent("PayoutApproved", payout, self.store_id)]

    def mark(
        self, payout: SimPayout, state: str, proof: dict[str, Any] | None = None
    ) -> list[PayoutEvent]:
        """Paid (`mark-paid`), in progress, or cancelled: BTCPay reports it as PayoutUpdated."""
        if state not in PAYOUT_STATES or state == PayoutState.AWAITING_APPROVAL:
            raise RefundRefused("state", "Unknown or unsupported payout state")
        if payout.state in (PayoutState.COMPLETED, PayoutState.CANCELLED):
            raise RefundRefused("state", f"The payout is already {payout.state}")
        if state in (PayoutState.IN_PROGRESS, PayoutState.COMPLETED) and payout.state not in (
            PayoutState.AWAITING_PAYMENT,
            PayoutState.IN_PROGRESS,
        ):
            raise RefundRefused("state", "Approve the payout before paying it")
        payout.state = state
        if state == PayoutState.COMPLETED:
            payout.proof = proof or {"proofType": "PayoutManuallyMarked", "id": new_id(32)}
        return [PayoutEvent("PayoutUpdated", payout, self.store_id)]
