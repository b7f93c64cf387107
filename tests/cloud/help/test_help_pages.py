"""Help and legal pages: linked from every page's footer, and saying what they must."""

from __future__ import annotations

import html

from cloud.web.keys import SETTINGS
from tests.cloud.common import sign_up_and_confirm

FOOTER_LINKS = ('href="/help"', 'href="/privacy"', 'href="/terms"')


async def _page(client, path: str) -> str:
    response = await client.get(path)
    assert response.status == 200, path
    return html.unescape(await response.text())


async def test_every_page_links_help_privacy_and_terms_in_its_footer(client, smtp_server):
    for path in ("/", "/products/EPD-1", "/cart", "/account/login", "/help", "/terms"):
        footer = (await _page(client, path)).split("<footer>", 1)[1]
        for link in FOOTER_LINKS:
            assert link in footer, (path, link)
    await sign_up_and_confirm(client, smtp_server, "ada@example.org")
    for path in ("/orders", "/devices", "/account"):
        footer = (await _page(client, path)).split("<footer>", 1)[1]
        assert all(link in footer for link in FOOTER_LINKS), path


async def test_help_explains_ownership_and_claim_secrets(client):
    text = await _page(client, "/help")
    assert 'id="ownership"' in text and 'id="claim-secrets"' in text
    assert "serial number" in text and "claim secret" in text
    assert "unverified" in text  # what happens to a device that cannot prove it


async def test_privacy_says_what_is_kept_and_for_how_long_from_the_settings(client):
    text = await _page(client, "/privacy")
    settings = client.app[SETTINGS]
    assert (
        f"{settings.session_days} days" in text
    )  # the session lifetime (CloudSettings.session_days)
    assert "24 hours" in text  # mailed links (accounts.mails.CONFIRM_HOURS)
    assert "12 hours" in text  # sign-in counters (throttle.ACCOUNT_POLICY.forget_after)
    assert "argon2id" in text and "never the password" in text


async def test_terms_page_covers_payment_stock_and_returns(client):
    text = await _page(client, "/terms")
    for topic in ("Prices and payment", "Stock", "Ownership", "Returns"):
        assert topic in text
