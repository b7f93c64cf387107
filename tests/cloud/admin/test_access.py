"""Who reaches /admin: operators only (granted from the command line), after a TOTP second
factor (enrolled with a QR code, recovery codes shown once); everyone else is refused."""

from __future__ import annotations

import re
from urllib.parse import unquote

from aiohttp.test_utils import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from cloud.admin.cli import run_role_change
from cloud.admin.models import AuditEntry, OperatorTotp, RecoveryCode
from cloud.admin.totp import secret_text
from cloud.config import CloudSettings
from cloud.web.keys import DB
from tests.cloud.admin.common import (
    enrol,
    grant,
    new_operator,
    secret_from,
    verify,
    wrong_code,
)
from tests.cloud.common import PASSWORD, csrf_from, log_in, sign_up_and_confirm
from tests.support.smtp_sink import MailCatcher


async def _audit(client: TestClient) -> list[AuditEntry]:
    async with client.app[DB]() as session:
        return list((await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all())


async def test_a_visitor_is_sent_to_sign_in_and_a_customer_is_refused(
    client: TestClient, smtp_server: MailCatcher, unique_id: str
):
    response = await client.get("/admin/audit", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"].startswith("/account/login?next=/admin/audit")

    await sign_up_and_confirm(client, smtp_server, f"buyer-{unique_id}@example.org")
    for path in ("/admin", "/admin/audit", "/admin/totp/enrol", "/admin/verify"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 403, path
        assert "operators may do that" in await response.text()


async def test_grant_and_revoke_from_the_command_line_are_audited(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    email = f"op-{unique_id}@example.org"
    assert await run_role_change(cloud_settings, "nobody@example.org", grant=True) == 1
    await sign_up_and_confirm(client, smtp_server, email)
    await grant(cloud_settings, email)
    response = await client.get("/admin", allow_redirects=False)
    assert response.headers["Location"].startswith("/admin/totp/enrol")

    assert await run_role_change(cloud_settings, email.upper(), grant=False) == 0
    assert (await client.get("/admin", allow_redirects=False)).status == 403
    entries = await _audit(client)
    assert [(e.action, e.actor_email, e.details) for e in entries] == [
        ("operator.granted", "command line", f'{{"email": "{email}"}}'),
        ("operator.revoked", "command line", f'{{"email": "{email}"}}'),
    ]


async def test_enrolment_shows_a_qr_code_refuses_a_wrong_code_then_gives_recovery_codes(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    email = f"op-{unique_id}@example.org"
    await sign_up_and_confirm(client, smtp_server, email)
    await grant(cloud_settings, email)
    page = await (await client.get("/admin/totp/enrol")).text()
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn by us, no third party
    secret = secret_from(page)
    assert secret_from(await (await client.get("/admin/totp/enrol")).text()) == secret

    response = await client.post(
        "/admin/totp/enrol", data={"code": wrong_code(secret), "csrf_token": csrf_from(page)}
    )
    assert response.status == 422
    assert "That code is not right" in await response.text()
    assert (await client.get("/admin", allow_redirects=False)).status == 303

    secret_again, codes = await enrol(client)
    assert secret_again == secret
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await client.get("/admin")).status == 200

    async with client.app[DB]() as session:
        row = await session.get(OperatorTotp, (await _audit(client))[-1].actor_id)
        stored_codes = (await session.scalars(select(RecoveryCode.code_hash))).all()
    assert row is not None and row.confirmed_at is not None
    assert secret_text(secret) not in row.sealed_secret and secret.hex() not in row.sealed_secret
    assert not {code.replace("-", "") for code in codes} & set(stored_codes)
    assert [e.action for e in await _audit(client)][-1] == "operator.totp_enrolled"
    # Enrolled: the enrolment page no longer hands out a key.
    response = await client.get("/admin/totp/enrol", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/admin/verify")


async def test_a_new_sign_in_asks_for_the_code_refuses_wrong_or_replayed_ones(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    operator = await new_operator(
        client, smtp_server, cloud_settings, f"op-{unique_id}@example.org"
    )
    client.session.cookie_jar.clear()
    await log_in(client, operator.email, PASSWORD)
    response = await client.get("/admin/audit", allow_redirects=False)
    assert response.status == 303
    assert unquote(response.headers["Location"]) == "/admin/verify?next=/admin/audit"

    response = await verify(client, wrong_code(operator.secret))
    assert response.status == 422 and "That code is not right" in await response.text()
    # The code used at enrolment was good once: this window's code is now spent.
    response = await verify(client, operator.code())
    assert response.status == 422
    assert (await client.get("/admin", allow_redirects=False)).status == 303

    response = await verify(client, operator.code(steps_ahead=1))
    assert response.status == 303 and response.headers["Location"] == "/admin"
    assert (await client.get("/admin/audit")).status == 200
    entries = await _audit(client)
    assert entries[-1].action == "operator.signed_in" and entries[-1].actor_email == operator.email


async def test_a_recovery_code_signs_in_once(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    operator = await new_operator(
        client, smtp_server, cloud_settings, f"op-{unique_id}@example.org"
    )
    for expected in (303, 422):
        client.session.cookie_jar.clear()
        await log_in(client, operator.email, PASSWORD)
        response = await verify(client, operator.recovery_codes[0].upper())
        assert response.status == expected
    assert '"with": "recovery code"' in (await _audit(client))[-1].details


async def test_every_console_form_needs_its_csrf_token(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    operator = await new_operator(
        client, smtp_server, cloud_settings, f"op-{unique_id}@example.org"
    )
    paths = [
        r.resource.canonical
        for r in client.app.router.routes()
        if r.method == "POST" and r.resource and r.resource.canonical.startswith("/admin")
    ]
    assert {"/admin/verify", "/admin/totp/enrol", "/admin/webhooks/{receipt_id}/redeliver"} <= set(
        paths
    )
    for path in paths:
        path = re.sub(r"\{[^}]+\}", "1", path)  # any value: the CSRF check comes first
        response = await client.post(path, data={"code": operator.code(1), "version": "0"})
        assert response.status == 403, path
        assert "not sent by our page" in await response.text()


async def test_the_audit_log_cannot_be_changed(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    await new_operator(client, smtp_server, cloud_settings, f"op-{unique_id}@example.org")
    entries = await _audit(client)
    async with client.app[DB]() as session:
        for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
            try:
                async with session.begin():
                    await session.execute(text(statement))
            except DBAPIError as err:
                assert "append-only" in str(err)
            else:
                raise AssertionError(f"{statement} was allowed")
    assert [e.action for e in await _audit(client)] == [e.action for e in entries]


async def test_the_audit_page_lists_entries_and_filters_them(
    client: TestClient, smtp_server: MailCatcher, cloud_settings: CloudSettings, unique_id: str
):
    operator = await new_operator(
        client, smtp_server, cloud_settings, f"op-{unique_id}@example.org"
    )
    page = await (await client.get("/admin/audit")).text()
    assert page.count('class="audit-entry"') == 2
    assert "operator.granted" in page and "operator.totp_enrolled" in page
    page = await (await client.get("/admin/audit", params={"action": "operator.granted"})).text()
    assert page.count('class="audit-entry"') == 1 and "operator.totp_enrolled" not in page
    page = await (await client.get("/admin/audit", params={"actor": operator.email})).text()
    assert page.count('class="audit-entry"') == 1 and "operator.totp_enrolled" in page
