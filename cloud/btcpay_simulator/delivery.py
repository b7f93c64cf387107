"""The simulator's webhook deliveries: signed like BTCPay's, in order, retried on its schedule."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from cloud.btcpay_simulator.chaos import Chaos
from cloud.btcpay_simulator.pull_payments import PayoutEvent
from cloud.btcpay_simulator.state import Event, SimWebhook, new_id
from cloud.payments.const import SIGNATURE_HEADER
from cloud.payments.signature import sign_body
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 429})
ATTEMPT_TIMEOUT_S = 10
FORGERY_KINDS = ("wrong-secret", "tampered-body", "no-signature")


@dataclass
class Delivery:
    id: str
    webhook_id: str
    body: bytes
    created: int
    original_id: str
    attempts: int = 0
    status: str = "Pending"  # Pending, HttpSuccess, HttpError, Failed
    http_code: int | None = None
    error: str = ""
    delivered_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "timestamp": self.created,
            "deliveryTime": self.delivered_at or self.created,
            "httpCode": self.http_code,
            "errorMessage": self.error,
            "status": self.status,
        }


def event_payload(
    event: Event | PayoutEvent, webhook_id: str, delivery_id: str, original_id: str
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "deliveryId": delivery_id,
        "webhookId": webhook_id,
        "originalDeliveryId": original_id,
        "isRedelivery": delivery_id != original_id,
        "type": event.type,
        "timestamp": int(time.time()),
        **event.subject(),
    }
    payload.update(event.extra)
    return payload


@dataclass
class WebhookSender:
    """One queue per webhook keeps deliveries in order; failed ones retry in the background."""

    session: aiohttp.ClientSession
    retry_delays: tuple[float, ...]
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    _queues: dict[str, asyncio.Queue[Delivery]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _webhooks: dict[str, SimWebhook] = field(default_factory=dict)
    chaos: Chaos = field(default_factory=Chaos)

    def publish(self, webhooks: list[SimWebhook], events: Sequence[Event | PayoutEvent]) -> None:
        for event in events:
            for webhook in webhooks:
                if not webhook.wants(event.type):
                    continue
                delivery_id = new_id()
                body = json.dumps(
                    event_payload(event, webhook.id, delivery_id, delivery_id), indent=2
                ).encode()
                self._enqueue(webhook, Delivery(delivery_id, webhook.id, body, _now(), delivery_id))

    def redeliver(self, webhook: SimWebhook, original: Delivery) -> Delivery:
        """A new delivery of the same event, marked as a redelivery of the original."""
        payload = json.loads(original.body)
        new_delivery_id = new_id()
        payload.update(
            deliveryId=new_delivery_id,
            originalDeliveryId=original.original_id,
            isRedelivery=True,
            timestamp=_now(),
        )
        delivery = Delivery(
            new_delivery_id,
            webhook.id,
            json.dumps(payload, indent=2).encode(),
            _now(),
            original.original_id,
        )
        self._enqueue(webhook, delivery)
        return delivery

    def _enqueue(self, webhook: SimWebhook, delivery: Delivery) -> None:
        self._webhooks[webhook.id] = webhook
        self.deliveries[delivery.id] = delivery
        queue = self._queues.get(webhook.id)
        if queue is None:
            queue = self._queues[webhook.id] = asyncio.Queue()
            self._spawn(self._run_queue(webhook.id, queue))
        queue.put_nowait(delivery)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_queue(self, webhook_id: str, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            if self.chaos.hit("drop"):  # lost on the way, and BTCPay never knows
                delivery.status, delivery.error = "Failed", "dropped (chaos)"
                continue
            if self.chaos.hit("reorder"):  # held back: the deliveries behind it overtake
                self._spawn(self._deliver_later(webhook_id, delivery))
                continue
            await self._deliver(webhook_id, delivery)

    async def _deliver_later(self, webhook_id: str, delivery: Delivery) -> None:
        await asyncio.sleep(self.chaos.reorder_wait())
        await self._deliver(webhook_id, delivery)

    async def _deliver(self, webhook_id: str, delivery: Delivery) -> None:
        retry = await self._attempt(delivery)
        if retry and self._webhooks[webhook_id].automatic_redelivery:
            self._spawn(self._retry_later(delivery))
        webhook = self._webhooks[webhook_id]
        if self.chaos.hit("duplicate"):
            signature = sign_body(webhook.secret, delivery.body)
            await self._send(self.chaos.target(webhook.url), delivery.body, signature)
        if self.chaos.hit("forge"):
            await self._send_forgery(webhook, delivery)

    async def _send_forgery(self, webhook: SimWebhook, delivery: Delivery) -> None:
        """A copy an attacker made: signed with a guessed secret, a changed body under the
        real signature, or no signature. Counted by the answer it gets."""
        kind = self.chaos.rng.choice(FORGERY_KINDS)
        body, signature = delivery.body, sign_body(webhook.secret, delivery.body)
        if kind == "wrong-secret":
            signature = sign_body(new_id(30), body)
        elif kind == "tampered-body":
            payload = json.loads(body)
            payload["type"] = "InvoiceSettled"
            payload["deliveryId"] = payload["originalDeliveryId"] = new_id()
            body = json.dumps(payload, indent=2).encode()
        status = await self._send(
            self.chaos.target(webhook.url), body, None if kind == "no-signature" else signature
        )
        if status is None or status >= 500:
            self.chaos.count("forge_unanswered")
        elif status < 300:
            self.chaos.count("forge_accepted")
            _LOGGER.error("a forged webhook (%s) was accepted with HTTP %s", kind, status)
        else:
            self.chaos.count("forge_refused")

    async def _send(self, url: str, body: bytes, signature: str | None) -> int | None:
        """POST one body; the HTTP status, or None when nothing answered."""
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers[SIGNATURE_HEADER] = signature
        try:
            async with self.session.post(
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_S),
            ) as response:
                await response.read()
                self.chaos.count(f"http_{response.status}")
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            self.chaos.count("network_error")
            return None

    async def _retry_later(self, delivery: Delivery) -> None:
        while delivery.attempts <= len(self.retry_delays):
            await asyncio.sleep(self.retry_delays[delivery.attempts - 1])
            if not await self._attempt(delivery):
                return
        delivery.status = "Failed"

    async def _attempt(self, delivery: Delivery) -> bool:
        """Send once; True when BTCPay would retry (5xx, 408, 429, network error)."""
        webhook = self._webhooks[delivery.webhook_id]
        if not webhook.enabled:  # deleted or disabled since: nothing more is sent
            delivery.status, delivery.error = "Failed", "webhook disabled"
            return False
        delivery.attempts += 1
        status = await self._send(
            self.chaos.target(webhook.url),
            delivery.body,
            sign_body(webhook.secret, delivery.body),
        )
        if status is None:
            delivery.status, delivery.error = "Failed", "no answer"
            return True
        delivery.http_code = status
        delivery.delivered_at = _now()
        if status < 300:
            delivery.status, delivery.error = "HttpSuccess", ""
            return False
        delivery.status = "HttpError"
        delivery.error = f"HTTP {status}"
        return status >= 500 or status in RETRYABLE

    async def close(self) -> None:
        await async_cancel_and_wait(*self._tasks)


def _now() -> int:
    return int(time.time())
