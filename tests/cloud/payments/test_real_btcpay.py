"""The Greenfield client against a real BTCPay Server, when one is configured.

Runs with --e2e when BTCPAY_URL, BTCPAY_API_KEY and BTCPAY_STORE_ID are set (a key with
the store's invoice permissions); otherwise it is skipped and says why.
"""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import aiohttp
import pytest

from cloud.payments.greenfield import GreenfieldClient
from tests.cloud.payments.greenfield_schema import errors, validator

pytestmark = pytest.mark.e2e_only


async def test_client_against_a_real_btcpay():
    url, key, store = (
        os.environ.get(n) for n in ("BTCPAY_URL", "BTCPAY_API_KEY", "BTCPAY_STORE_ID")
    )
    if not (url and key and store):
        pytest.skip("set BTCPAY_URL, BTCPAY_API_KEY and BTCPAY_STORE_ID to test a real BTCPay")
    order_id = f"ethos-test-{uuid.uuid4().hex[:8]}"
    async with aiohttp.ClientSession() as session:
        client = GreenfieldClient(session, url, key, store, 20.0)
        invoice = await client.create_invoice(
            order_id, Decimal("1.00"), "EUR", "http://127.0.0.1:8080/", "MediumSpeed", 15
        )
        again = await client.get_invoice(invoice.id)
        assert again is not None and again.order_id == order_id and again.status == "New"
        assert [i.id for i in await client.find_invoices(order_id)] == [invoice.id]
        assert await client.payment_methods(invoice.id)
        async with session.get(
            f"{url.rstrip('/')}/api/v1/stores/{store}/invoices/{invoice.id}",
            headers={"Authorization": f"token {key}"},
        ) as response:
            assert errors(validator("InvoiceData"), await response.json()) == []
