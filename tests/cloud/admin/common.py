"""Helpers for console tests: make an operator, enrol their second factor, pass it."""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass

from aiohttp.test_utils import TestClient

from cloud.admin import totp
from cloud.admin.cli import run_role_change
from cloud.config import CloudSettings
from tests.cloud.common import csrf_from, sign_up_and_confirm, submit_form
from tests.support.smtp_sink import MailCatcher

SECRET_RE = re.compile(r'<code class="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_RE = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")


@dataclass
class Operator:
    email: str
    secret: bytes
    recovery_codes: list[str]

    def code(self, steps_ahead: int = 0) -> str:
        """A current code; `steps_ahead=1` gives the next window's (a code is good once)."""
        return totp.code_at(self.secret, time.time() + steps_ahead * totp.STEP_SECONDS)


def secret_from(html: str) -> bytes:
    match = SECRET_RE.search(html)
    assert match, "the enrolment page shows no key"
    text = match.group(1)
    return base64.b32decode(text + "=" * (-len(text) % 8))


def wrong_code(secret: bytes) -> str:
    """A six-digit code that is none of the codes accepted right now."""
    now = totp.time_step()
    good = {totp.hotp(secret, step) for step in range(now - 2, now + 3)}
    return next(code for code in ("000000", "111111", "222222") if code not in good)


async def grant(settings: CloudSettings, email: str) -> None:
    assert await run_role_change(settings, email, grant=True) == 0


async def enrol(client: TestClient) -> tuple[bytes, list[str]]:
    """Open the console as a fresh operator: it sends us to enrolment; enrol with a code."""
    response = await client.get("/admin", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/admin/totp/enrol")
    page = await (await client.get(response.headers["Location"])).text()
    secret = secret_from(page)
    response = await client.post(
        "/admin/totp/enrol",
        data={"code": totp.code_at(secret), "next": "/admin", "csrf_token": csrf_from(page)},
    )
    assert response.status == 200, await response.text()
    codes = RECOVERY_RE.findall(await response.text())
    return secret, codes


async def new_operator(
    client: TestClient, smtp: MailCatcher, settings: CloudSettings, email: str
) -> Operator:
    """A confirmed account made operator, enrolled, its client signed in and verified."""
    await sign_up_and_confirm(client, smtp, email)
    await grant(settings, email)
    secret, codes = await enrol(client)
    return Operator(email, secret, codes)


async def verify(client: TestClient, code: str):
    return await submit_form(
        client,
        "/admin/verify",
        "/admin/verify",
        {"code": code, "next": "/admin"},
        allow_redirects=False,
    )
