"""Asking BTCPay to redeliver a webhook delivery: the client's call, the simulator's answer
and the redelivery validate against BTCPay's webhooks file (RedeliverWebhookDelivery)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from jsonschema import Draft202012Validator

from cloud.payments.greenfield import BtcpayError
from tests.cloud.payments.greenfield_schema import (
    documents,
    errors,
    normalise,
    webhook_validator,
)
from tests.support.waiting import wait_until

WEBHOOKS_FILE = "swagger.template.webhooks.json"
REDELIVER_SUFFIX = "/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver"


def _redeliver_operation() -> dict:
    paths = documents()[WEBHOOKS_FILE]["paths"]
    matching = [path for path in paths if path.endswith(REDELIVER_SUFFIX)]
    assert len(matching) == 1, matching
    return paths[matching[0]]["post"]


async def test_redelivery_is_documented_answered_and_delivered_again(sim, receiver, greenfield):
    operation = _redeliver_operation()
    assert operation["operationId"] == "Webhooks_RedeliverWebhookDelivery"
    assert "requestBody" not in operation  # the client sends no body
    answer_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]

    hook = await sim.create_webhook(receiver.url)
    invoice = await greenfield.create_invoice(
        "o-redeliver", Decimal("10"), "EUR", "http://x", "MediumSpeed", 15
    )
    await wait_until(lambda: len(receiver.received) >= 1)
    first = receiver.bodies()[0]
    assert first["invoiceId"] == invoice.id and first["isRedelivery"] is False

    new_id = await greenfield.redeliver_webhook_delivery(hook["id"], first["deliveryId"])
    assert errors(Draft202012Validator(normalise(answer_schema)), new_id) == []
    assert new_id != first["deliveryId"]
    await wait_until(lambda: len(receiver.received) >= 2)
    again = receiver.bodies()[1]
    assert errors(webhook_validator(again["type"]), again) == []
    assert again["deliveryId"] == new_id and again["isRedelivery"] is True
    assert again["originalDeliveryId"] == first["deliveryId"]
    assert (again["type"], again["invoiceId"]) == (first["type"], first["invoiceId"])

    assert "404" in operation["responses"]
    with pytest.raises(BtcpayError) as missing:
        await greenfield.redeliver_webhook_delivery(hook["id"], "NoSuchDelivery")
    assert missing.value.status == 404
