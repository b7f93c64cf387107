"""Mail without SMTP goes to an outbox; state lives in the database, so replicas agree."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from cloud.app import create_app
from cloud.web.keys import MAIL
from tests.cloud.common import (
    PASSWORD,
    confirm_with_link,
    link_path,
    log_in,
    sign_up,
    sign_up_and_confirm,
)
from tests.support.waiting import wait_until


async def test_without_smtp_mail_is_written_to_outbox_and_link_logged(
    aiohttp_client, cloud_settings, caplog, unique_id
):
    settings = replace(cloud_settings, smtp_url=None)
    client = await aiohttp_client(create_app(settings))
    email = f"ob-{unique_id}@example.org"

    def logged_links() -> list[str]:
        return [
            r.getMessage() for r in caplog.records if "/account/confirm?token=" in r.getMessage()
        ]

    with caplog.at_level(logging.INFO, logger="cloud.mail.dispatcher"):
        await sign_up(client, email)
        # The link is logged once the mail is in the outbox: waiting for the file alone raced it.
        await wait_until(lambda: bool(logged_links()), timeout=5)
    files = list(settings.outbox_dir.glob("*.eml"))
    assert len(files) == 1
    content = files[0].read_text()
    assert email in content and "/account/confirm?token=" in content
    logged = logged_links()
    assert logged
    link = next(part for part in logged[0].split() if "/account/confirm" in part)
    assert (await confirm_with_link(client, link_path(link))).status == 200


async def test_two_replicas_share_sessions_and_throttles(
    aiohttp_client, cloud_settings, smtp_server, unique_id
):
    first = await aiohttp_client(create_app(cloud_settings))
    second = await aiohttp_client(create_app(cloud_settings))
    email = f"rep-{unique_id}@example.org"
    await sign_up_and_confirm(first, smtp_server, email)
    cookie = next(c.value for c in first.session.cookie_jar if c.key == "ethos_session")

    response = await second.get("/api/v1/me", headers={"Cookie": f"ethos_session={cookie}"})
    assert response.status == 200
    assert (await response.json())["email"] == email

    # Failures counted on one replica lock the account on the other.
    first.session.cookie_jar.clear()
    for i in range(5):
        assert (await log_in(first, email, f"wrong {i}")).status == 401
    assert (await log_in(second, email, PASSWORD)).status == 429


async def test_the_mail_sender_stops_when_stopped_as_mail_is_queued(aiohttp_client, cloud_settings):
    """Mail queued at the moment the store shuts down must not keep the sender alive."""
    client = await aiohttp_client(create_app(cloud_settings))
    dispatcher = client.app[MAIL]
    sender = asyncio.create_task(dispatcher.async_run())
    await asyncio.sleep(0.5)  # it delivered what was due and waits for the next mail
    dispatcher.wake()
    sender.cancel()
    done, _ = await asyncio.wait({sender}, timeout=5)
    assert sender in done and sender.cancelled(), "the mail sender ignored its cancellation"
