"""The console's own pages: the start page, TOTP enrolment and codes, the audit log."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import segno
from aiohttp import web

from cloud.accounts.sessions import SESSION_COOKIE
from cloud.accounts.throttle import (
    ThrottlePolicy,
    blocked_until,
    forget,
    record_failure,
    seconds_until,
    throttled_message,
)
from cloud.admin import operators, totp
from cloud.admin.access import (
    VERIFY_PATH,
    render_admin,
    require_operator,
    require_signed_in_operator,
    safe_next,
)
from cloud.admin.audit import AuditFilter, list_entries, record
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB, SETTINGS

_LOGGER = logging.getLogger(__name__)

WRONG_CODE = "That code is not right. Check the time on your phone and try the newest code."
# Second-factor guesses: slowed from the third wrong code, locked after ten.
CODE_POLICY = ThrottlePolicy(slow_after=3, lock_after=10)


def _throttle_key(user_id: int) -> str:
    return f"totp:{user_id}"


async def dashboard(request: web.Request) -> web.Response:
    principal = await require_operator(request, "admin.view")
    return render_admin(request, "admin/dashboard.html", {"operator": principal})


async def enrol_page(request: web.Request) -> web.Response:
    principal = await require_signed_in_operator(request)
    settings = request.app[SETTINGS]
    async with transaction(request.app) as session:
        if await operators.enrolment(session, principal.user_id) is operators.Enrolment.CONFIRMED:
            next_path = safe_next(request.query.get("next"))
            raise web.HTTPSeeOther(f"{VERIFY_PATH}?{urlencode({'next': next_path})}")
        secret = await operators.pending_secret(session, settings.secret_key, principal.user_id)
    return _enrol_form(request, principal.email, secret, None)


def _enrol_form(
    request: web.Request, email: str, secret: bytes, error: str | None, status: int = 200
) -> web.Response:
    uri = totp.provisioning_uri(secret, email)
    return render_admin(
        request,
        "admin/enrol.html",
        {
            "qr_svg": segno.make(uri, error="m").svg_data_uri(scale=5),
            "secret_text": totp.secret_text(secret),
            "error": error,
            "next": safe_next(request.query.get("next")),
        },
        status=status,
    )


async def enrol_confirm(request: web.Request) -> web.Response:
    principal = await require_signed_in_operator(request)
    settings = request.app[SETTINGS]
    form = await read_form(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    async with transaction(request.app) as session:
        codes = await operators.confirm_enrolment(
            session, settings.secret_key, principal.user_id, form.get("code", "")
        )
        if codes is not None:
            await operators.mark_session_verified(session, token, principal.user_id)
            await record(session, principal, "operator.totp_enrolled", f"user:{principal.user_id}")
    if codes is None:
        async with request.app[DB]() as session:
            state = await operators.enrolment(session, principal.user_id)
            if state is not operators.Enrolment.PENDING:
                raise web.HTTPSeeOther(VERIFY_PATH)
            secret = await operators.pending_secret(session, settings.secret_key, principal.user_id)
        return _enrol_form(request, principal.email, secret, WRONG_CODE, status=422)
    response = render_admin(
        request,
        "admin/recovery_codes.html",
        {"codes": codes, "next": safe_next(form.get("next"))},
    )
    return response


async def verify_page(request: web.Request) -> web.Response:
    principal = await require_signed_in_operator(request)
    async with request.app[DB]() as session:
        state = await operators.enrolment(session, principal.user_id)
    if state is not operators.Enrolment.CONFIRMED:
        raise web.HTTPSeeOther("/admin/totp/enrol")
    return render_admin(
        request, "admin/verify.html", {"next": safe_next(request.query.get("next")), "error": None}
    )


async def verify_code(request: web.Request) -> web.Response:
    principal = await require_signed_in_operator(request)
    settings = request.app[SETTINGS]
    form = await read_form(request)
    next_path = safe_next(form.get("next"))
    key = _throttle_key(principal.user_id)
    async with transaction(request.app) as session:
        until = await blocked_until(session, [key])
        if until is not None:
            error = throttled_message(seconds_until(until))
            method = None
        else:
            method = await operators.check_second_factor(
                session, settings.secret_key, principal.user_id, form.get("code", "")
            )
            if method is None:
                await record_failure(session, key, CODE_POLICY)
                error = WRONG_CODE
            else:
                await forget(session, key)
                token = request.cookies.get(SESSION_COOKIE, "")
                await operators.mark_session_verified(session, token, principal.user_id)
                await record(
                    session,
                    principal,
                    "operator.signed_in",
                    f"user:{principal.user_id}",
                    {"with": method},
                )
    if method is None:
        _LOGGER.info("second factor refused for operator %s", principal.user_id)
        return render_admin(
            request, "admin/verify.html", {"next": next_path, "error": error}, status=422
        )
    raise web.HTTPSeeOther(next_path)


async def audit_page(request: web.Request) -> web.Response:
    await require_operator(request, "admin.audit.read")
    query = request.query
    before = query.get("before", "")
    where = AuditFilter(
        action=query.get("action") or None,
        actor=query.get("actor") or None,
        target=query.get("target") or None,
        before_id=int(before) if before.isdigit() and len(before) < 12 else None,
    )
    async with request.app[DB]() as session:
        entries = await list_entries(session, where)
    return render_admin(request, "admin/audit.html", {"entries": entries, "where": where})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin", dashboard, name="admin")
    app.router.add_get("/admin/totp/enrol", enrol_page)
    app.router.add_post("/admin/totp/enrol", enrol_confirm)
    app.router.add_get("/admin/verify", verify_page)
    app.router.add_post("/admin/verify", verify_code)
    app.router.add_get("/admin/audit", audit_page)
