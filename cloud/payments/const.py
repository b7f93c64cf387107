"""Constants shared by the Greenfield client, the webhook and the simulator."""

from __future__ import annotations

SIGNATURE_HEADER = "BTCPay-Sig"
SIGNATURE_PREFIX = "sha256="
SIMULATOR_HEADER = "X-Ethos-BTCPay-Simulator"
WEBHOOK_PATH = "/webhooks/btcpay"
# Greenfield's health endpoint (no API key needed): {"synchronized": true}.
HEALTH_PATH = "/api/v1/health"

# The event that only says an invoice exists: it can change an order only before the order
# has recorded the invoice (the answer to our request was lost, and the order adopts it).
INVOICE_CREATED = "InvoiceCreated"
INVOICE_EVENTS = frozenset(
    {
        INVOICE_CREATED,
        "InvoiceReceivedPayment",
        "InvoicePaymentSettled",
        "InvoiceProcessing",
        "InvoiceSettled",
        "InvoiceExpired",
        "InvoiceInvalid",
        "InvoiceExpiredPaidPartial",
        "InvoicePaidAfterExpiration",
    }
)

# A payout of a pull payment (our refunds) was claimed, approved, or changed state.
PAYOUT_EVENTS = frozenset({"PayoutCreated", "PayoutApproved", "PayoutUpdated"})

# BTCPay's automatic redelivery schedule: 10 s, 1 min, then 6 × 10 min.
RETRY_DELAYS_SECONDS: tuple[float, ...] = (10, 60, *([600] * 6))
SIMULATOR_PORT = 8082
