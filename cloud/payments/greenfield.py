"""A small Greenfield API client (aiohttp): the store's invoice, refund and webhook calls.

Uses the store-scoped invoice paths, which every BTCPay version accepts; pull payments and
payouts use the paths of BTCPay's pull-payments API (v2.4). Every failure
(HTTP 400/401/403/404/422/5xx, timeouts, refused connections) becomes a `BtcpayError`
whose message can be shown to a person.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import aiohttp

from cloud.payments.const import HEALTH_PATH, SIMULATOR_HEADER
from cloud.web.request_id import REQUEST_ID_HEADER, current_request_id

_LOGGER = logging.getLogger(__name__)


class BtcpayError(Exception):
    """BTCPay did not do what we asked; `message` is fit for the buyer's order page."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Invoice:
    """The fields of a Greenfield invoice the store acts on."""

    id: str
    store_id: str
    status: str
    additional_status: str
    amount: Decimal
    currency: str
    order_id: str | None
    checkout_link: str
    expiration_time: datetime | None
    paid_amount: Decimal | None = None  # in `currency`, when BTCPay says

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invoice:
        try:
            metadata = data.get("metadata") or {}
            expires = data.get("expirationTime")
            return cls(
                id=str(data["id"]),
                store_id=str(data.get("storeId", "")),
                status=str(data["status"]),
                additional_status=str(data.get("additionalStatus") or "None"),
                amount=Decimal(str(data["amount"])),
                currency=str(data.get("currency", "")).upper(),
                order_id=metadata.get("orderId") if isinstance(metadata, dict) else None,
                checkout_link=str(data.get("checkoutLink") or ""),
                expiration_time=datetime.fromtimestamp(int(expires), UTC) if expires else None,
                paid_amount=(
                    Decimal(str(data["paidAmount"])) if data.get("paidAmount") is not None else None
                ),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as err:
            raise BtcpayError("BTCPay answered with an invoice we cannot read.") from err


def invoice_request(
    order_id: str,
    amount: Decimal,
    currency: str,
    redirect_url: str,
    speed_policy: str,
    expiry_minutes: int,
) -> dict[str, Any]:
    """The create-invoice body: the order id only, no personal data."""
    return {
        "amount": str(amount.quantize(Decimal("0.01"))),
        "currency": currency,
        "metadata": {"orderId": order_id},
        "checkout": {
            "speedPolicy": speed_policy,
            "expirationMinutes": expiry_minutes,
            "redirectURL": redirect_url,
            "redirectAutomatically": True,
        },
    }


REFUND_VARIANTS = ("RateThen", "CurrentRate", "OverpaidAmount", "Fiat", "Custom")


@dataclass(frozen=True)
class PullPayment:
    """A pull payment: money the store owes, claimed by whoever holds its view link."""

    id: str
    amount: Decimal
    currency: str
    view_link: str
    archived: bool
    name: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PullPayment:
        try:
            return cls(
                id=str(data["id"]),
                name=str(data.get("name") or ""),
                amount=Decimal(str(data["amount"])),
                currency=str(data.get("currency", "")).upper(),
                view_link=str(data.get("viewLink") or ""),
                archived=bool(data.get("archived", False)),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as err:
            raise BtcpayError("BTCPay answered with a pull payment we cannot read.") from err


@dataclass(frozen=True)
class Payout:
    """One claim on a pull payment and how far BTCPay has paid it."""

    id: str
    pull_payment_id: str | None
    state: str  # AwaitingApproval, AwaitingPayment, InProgress, Completed, Cancelled
    destination: str
    original_amount: Decimal | None
    original_currency: str
    payout_amount: Decimal | None
    payout_currency: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Payout:
        try:
            original = data.get("originalAmount")
            paid = data.get("payoutAmount")
            return cls(
                id=str(data["id"]),
                pull_payment_id=data.get("pullPaymentId"),
                state=str(data["state"]),
                destination=str(data.get("destination") or ""),
                original_amount=Decimal(str(original)) if original is not None else None,
                original_currency=str(data.get("originalCurrency") or "").upper(),
                payout_amount=Decimal(str(paid)) if paid is not None else None,
                payout_currency=str(data.get("payoutCurrency") or "").upper(),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as err:
            raise BtcpayError("BTCPay answered with a payout we cannot read.") from err


def refund_request(
    variant: str,
    name: str,
    description: str,
    amount: Decimal | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """The invoice-refund body. `Custom` names its amount and currency; the others let
    BTCPay compute the amount from the invoice's payments."""
    if variant not in REFUND_VARIANTS:
        raise ValueError(f"unknown refund variant {variant!r}")
    body: dict[str, Any] = {"name": name, "description": description, "refundVariant": variant}
    if variant == "Custom":
        if amount is None or not currency:
            raise ValueError("a Custom refund needs an amount and a currency")
        body["customAmount"] = str(amount.quantize(Decimal("0.01")))
        body["customCurrency"] = currency.upper()
    return body


class GreenfieldClient:
    """Calls one BTCPay store. The aiohttp session is the app's, shared by all requests."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        store_id: str,
        timeout_seconds: float = 10.0,
        refuse_simulator: bool = False,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"token {api_key}", "Accept": "application/json"}
        self.store_id = store_id
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._refuse_simulator = refuse_simulator

    def _request_headers(self) -> dict[str, str]:
        """Ours, plus the id of the request being handled (BTCPay's logs can be matched)."""
        request_id = current_request_id()
        return {**self._headers, REQUEST_ID_HEADER: request_id} if request_id else self._headers

    def _store_path(self, suffix: str = "") -> str:
        return f"/api/v1/stores/{quote(self.store_id, safe='')}{suffix}"

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            async with self._session.request(
                method,
                self._base + path,
                json=body,
                headers=self._request_headers(),
                timeout=self._timeout,
            ) as response:
                if self._refuse_simulator and SIMULATOR_HEADER in response.headers:
                    raise BtcpayError("Production refuses the BTCPay simulator.", response.status)
                if response.status == 404:
                    return None
                payload = await _json_or_none(response)
                if response.status >= 400:
                    if response.status in (401, 403):
                        _LOGGER.error("BTCPay refused BTCPAY_API_KEY (HTTP %s)", response.status)
                    raise BtcpayError(_error_message(response.status, payload), response.status)
                return payload
        except TimeoutError as err:
            raise BtcpayError("BTCPay Server did not answer in time.") from err
        except aiohttp.ClientError as err:
            _LOGGER.warning("BTCPay unreachable: %s", type(err).__name__)
            raise BtcpayError("BTCPay Server cannot be reached right now.") from err

    async def health(self) -> None:
        """BTCPay answers its health endpoint and its node is synchronised (readiness)."""
        data = await self._call("GET", HEALTH_PATH)
        if data is None:
            raise BtcpayError("BTCPay Server has no health endpoint at BTCPAY_URL.", 404)
        if isinstance(data, dict) and data.get("synchronized") is False:
            raise BtcpayError("BTCPay Server is not synchronised with its node yet.")

    async def create_invoice(
        self,
        order_id: str,
        amount: Decimal,
        currency: str,
        redirect_url: str,
        speed_policy: str,
        expiry_minutes: int,
    ) -> Invoice:
        body = invoice_request(
            order_id, amount, currency, redirect_url, speed_policy, expiry_minutes
        )
        data = await self._call("POST", self._store_path("/invoices"), body)
        if not isinstance(data, dict):
            raise BtcpayError("BTCPay did not create the invoice (store not found).", 404)
        return Invoice.from_json(data)

    async def get_invoice(self, invoice_id: str) -> Invoice | None:
        data = await self._call("GET", self._store_path(f"/invoices/{quote(invoice_id, safe='')}"))
        return Invoice.from_json(data) if isinstance(data, dict) else None

    async def find_invoices(self, order_id: str) -> list[Invoice]:
        data = await self._call(
            "GET", self._store_path(f"/invoices?orderId={quote(order_id, safe='')}")
        )
        return [Invoice.from_json(item) for item in data or [] if isinstance(item, dict)]

    async def payment_methods(self, invoice_id: str) -> list[dict[str, Any]]:
        data = await self._call(
            "GET", self._store_path(f"/invoices/{quote(invoice_id, safe='')}/payment-methods")
        )
        return [item for item in data or [] if isinstance(item, dict)]

    async def mark_invoice_invalid(self, invoice_id: str) -> Invoice:
        """Mark an invoice Invalid (Greenfield's "Mark invoice status"): it takes no payment."""
        data = await self._call(
            "POST",
            self._store_path(f"/invoices/{quote(invoice_id, safe='')}/status"),
            {"status": "Invalid"},
        )
        if not isinstance(data, dict):
            raise BtcpayError("BTCPay does not know this invoice.", 404)
        return Invoice.from_json(data)

    async def refund_invoice(self, invoice_id: str, body: dict[str, Any]) -> PullPayment:
        """Refund (part of) an invoice: BTCPay creates a pull payment for the buyer to claim."""
        data = await self._call(
            "POST", self._store_path(f"/invoices/{quote(invoice_id, safe='')}/refund"), body
        )
        if not isinstance(data, dict):
            raise BtcpayError("BTCPay does not know this invoice; nothing was refunded.", 404)
        return PullPayment.from_json(data)

    async def get_pull_payment(self, pull_payment_id: str) -> PullPayment | None:
        data = await self._call("GET", f"/api/v1/pull-payments/{quote(pull_payment_id, safe='')}")
        return PullPayment.from_json(data) if isinstance(data, dict) else None

    async def list_pull_payments(self) -> list[PullPayment]:
        """The store's pull payments (archived ones left out)."""
        data = await self._call("GET", self._store_path("/pull-payments"))
        return [PullPayment.from_json(item) for item in data or [] if isinstance(item, dict)]

    async def list_payouts(self, pull_payment_id: str) -> list[Payout]:
        """The payouts claimed on a pull payment (cancelled ones included)."""
        data = await self._call(
            "GET",
            f"/api/v1/pull-payments/{quote(pull_payment_id, safe='')}/payouts"
            "?includeCancelled=true",
        )
        return [Payout.from_json(item) for item in data or [] if isinstance(item, dict)]

    async def get_payout(self, pull_payment_id: str, payout_id: str) -> Payout | None:
        data = await self._call(
            "GET",
            f"/api/v1/pull-payments/{quote(pull_payment_id, safe='')}"
            f"/payouts/{quote(payout_id, safe='')}",
        )
        return Payout.from_json(data) if isinstance(data, dict) else None

    async def create_webhook(self, url: str, secret: str | None = None) -> tuple[str, str]:
        body: dict[str, Any] = {
            "url": url,
            "enabled": True,
            "automaticRedelivery": True,
            "authorizedEvents": {"everything": True},
        }
        if secret:
            body["secret"] = secret
        data = await self._call("POST", self._store_path("/webhooks"), body)
        if not isinstance(data, dict) or not data.get("secret"):
            raise BtcpayError("BTCPay did not return the webhook secret.")
        return str(data["id"]), str(data["secret"])

    async def list_webhooks(self) -> list[dict[str, Any]]:
        data = await self._call("GET", self._store_path("/webhooks"))
        return [item for item in data or [] if isinstance(item, dict)]

    async def delete_webhook(self, webhook_id: str) -> None:
        await self._call("DELETE", self._store_path(f"/webhooks/{quote(webhook_id, safe='')}"))

    async def redeliver_webhook_delivery(self, webhook_id: str, delivery_id: str) -> str:
        """Ask BTCPay to send a delivery again (Webhooks_RedeliverWebhookDelivery); returns
        the new delivery's id. BtcpayError 404 when BTCPay has no such delivery, 409 when
        it was pruned."""
        path = (
            f"/webhooks/{quote(webhook_id, safe='')}"
            f"/deliveries/{quote(delivery_id, safe='')}/redeliver"
        )
        data = await self._call("POST", self._store_path(path))
        if data is None:
            raise BtcpayError("BTCPay has no such delivery to send again.", 404)
        if not isinstance(data, str) or not data:
            raise BtcpayError("BTCPay did not say which delivery it sent again.")
        return data


async def _json_or_none(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError, asyncio.IncompleteReadError):
        return None


def _error_message(status: int, payload: Any) -> str:
    if status in (401, 403):
        return "BTCPay Server refused the shop credentials; please try again later."
    if status in (400, 422) and isinstance(payload, list):
        details = "; ".join(
            f"{item.get('path')}: {item.get('message')}"
            for item in payload
            if isinstance(item, dict)
        )
        return f"BTCPay Server refused the invoice ({details})."
    if status == 400 and isinstance(payload, dict):
        return f"BTCPay Server refused the invoice ({payload.get('message', 'bad request')})."
    if status >= 500:
        return f"BTCPay Server is unavailable (HTTP {status}); try again shortly."
    return f"BTCPay Server answered HTTP {status}."
