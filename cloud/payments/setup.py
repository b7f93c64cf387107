"""Wires the payments area into the store: the Greenfield client, the webhook and its secret.

Development convenience: when BTCPAY_WEBHOOK_SECRET is unset (never in production), the
store registers its own webhook through the Greenfield API at start-up — replacing any
earlier one with the same URL — and keeps the secret BTCPay returns in memory. Until that
succeeds (for example while the simulator is not running yet) it retries in the background
and answers deliveries with 503, which BTCPay retries.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from cloud.payments.const import WEBHOOK_PATH
from cloud.payments.greenfield import BtcpayError, GreenfieldClient
from cloud.payments.keys import GREENFIELD, WEBHOOK_SECRET, WebhookSecret
from cloud.payments.webhook import btcpay_webhook
from cloud.web.keys import SETTINGS
from ethos.tasks import async_cancel_and_wait

_LOGGER = logging.getLogger(__name__)

REGISTRATION_BACKOFF_MAX = 60.0


def webhook_url(base_url: str) -> str:
    return base_url.rstrip("/") + WEBHOOK_PATH


async def async_register_webhook(client: GreenfieldClient, url: str, holder: WebhookSecret) -> None:
    """Replace our webhook in the BTCPay store and remember its new secret."""
    for hook in await client.list_webhooks():
        if hook.get("url") == url and hook.get("id"):
            await client.delete_webhook(str(hook["id"]))
    _hook_id, secret = await client.create_webhook(url, secrets.token_urlsafe(32))
    holder.value = secret
    _LOGGER.info("BTCPay webhook registered for %s", url)


async def _register_until_done(client: GreenfieldClient, url: str, holder: WebhookSecret) -> None:
    delay = 1.0
    while True:
        try:
            await async_register_webhook(client, url, holder)
            return
        except BtcpayError as err:
            _LOGGER.warning("BTCPay webhook not registered yet (%s); retrying", err.message)
        await asyncio.sleep(delay)
        delay = min(delay * 2, REGISTRATION_BACKOFF_MAX)


async def _payments_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    btcpay = settings.btcpay
    context = btcpay.ssl_context()  # BTCPAY_CA_FILE trusted beside the system's CAs
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context) if context is not None else None
    )
    client = app[GREENFIELD] = GreenfieldClient(
        session,
        btcpay.url,
        btcpay.api_key,
        btcpay.store_id,
        btcpay.timeout_seconds,
        refuse_simulator=settings.production,
    )
    task = None
    if app[WEBHOOK_SECRET].value is None and not settings.production:
        task = asyncio.create_task(
            _register_until_done(client, webhook_url(settings.base_url), app[WEBHOOK_SECRET]),
            name="btcpay-webhook-registration",
        )
    yield
    await async_cancel_and_wait(task)
    await session.close()


def setup(app: web.Application) -> None:
    app[WEBHOOK_SECRET] = WebhookSecret(app[SETTINGS].btcpay.webhook_secret)
    app.cleanup_ctx.append(_payments_ctx)
    app.router.add_post(WEBHOOK_PATH, btcpay_webhook)
