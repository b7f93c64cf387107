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

from cloud.btcpay_simulator.pull_payments import PayoutEvent
from cloud.btcpay_simulator.state import Event, SimWebhook, new_id
from cloud.payments.const import SIGNATURE_HEADER
from cloud.payments.signature import sign_body
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)

RETRYABLE = frozenset({408, 429})


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
            retry = await self._attempt(delivery)
            if retry and self._webhooks[webhook_id].automatic_redelivery:
                self._spawn(self._retry_later(delivery))

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
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(webhook.secret, delivery.body),
        }
        try:
            async with self.session.post(
                webhook.url,
                data=delivery.body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as response:
                delivery.http_code = response.status
                delivery.delivered_at = _now()
                if response.status < 300:
                    delivery.status, delivery.error = "HttpSuccess", ""
                    return False
                delivery.status = "HttpError"
                delivery.error = f"HTTP {response.status}"
                return response.status >= 500 or response.status in RETRYABLE
        except (aiohttp.ClientError, TimeoutError) as err:
            delivery.status, delivery.error = "Failed", type(err).__name__
            return True

    async def close(self) -> None:
        await async_cancel_and_wait(*self._tasks)


def _now() -> int:
    return int(time.time())
