"""Pages to change the account's email address: ask (with the password), then confirm from
the new mailbox (a form behind the link, so mail scanners do not use it up)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts import email_change, throttle
from cloud.accounts.keys import ACCOUNT_HOOKS
from cloud.accounts.routes import _link_problem
from cloud.accounts.service import Links, TokenProblem
from cloud.accounts.sessions import require_user
from cloud.authz import authorize
from cloud.domain import InputErrors
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB, SETTINGS
from cloud.web.origin import client_address

SENT = (
    "We sent a link to {email}. Your address changes when it is opened there; until then "
    "your account keeps {old}."
)


def _render(request: web.Request, name: str, status: int = 200, **context: object) -> web.Response:
    return aiohttp_jinja2.render_template(f"account/{name}", request, context, status=status)


async def email_form(request: web.Request) -> web.Response:
    await require_user(request)
    await authorize(request, "account.update")
    return _render(request, "email.html")


async def email_submit(request: web.Request) -> web.Response:
    user = await require_user(request)
    principal = await authorize(request, "account.update")
    form = await read_form(request)
    new_email = form.get("email", "")
    try:
        async with transaction(request.app) as session:
            refusal, retry_at = await email_change.request_email_change(
                session,
                Links(request.app[SETTINGS].base_url),
                principal.user_id,
                new_email,
                form.get("current_password", ""),
                client_address(request),
            )
    except InputErrors as err:
        return _render(request, "email.html", 422, errors=err.fields, email=new_email)
    if refusal is not None:
        wait = throttle.seconds_until(retry_at) if retry_at is not None else None
        message = refusal.message if wait is None else throttle.throttled_message(wait)
        response = _render(request, "email.html", refusal.status, message=message, email=new_email)
        if wait is not None:
            response.headers["Retry-After"] = str(wait)
        return response
    sent = SENT.format(email=new_email.strip(), old=user.email)
    return _render(request, "check_email.html", message=sent)


async def confirm_page(request: web.Request) -> web.Response:
    token = request.query.get("token", "")
    async with request.app[DB]() as session:
        pending, problem = await email_change.check_email_change(session, token)
    if pending is None:
        return _link_problem(request, problem, "email")
    return _render(request, "email_confirm.html", token=token, pending=pending)


async def confirm_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    async with transaction(request.app) as session:
        user, problem = await email_change.confirm_email_change(
            session, form.get("token", ""), request.app[ACCOUNT_HOOKS]
        )
    if user is None:
        if isinstance(problem, TokenProblem) or problem is None:
            return _link_problem(request, problem, "email")
        return _render(request, "email.html", problem.status, message=problem.message)
    raise web.HTTPSeeOther("/account?email_changed=1")


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/account/email", email_form)
    app.router.add_post("/account/email", email_submit)
    app.router.add_get(email_change.CONFIRM_PATH, confirm_page)
    app.router.add_post(email_change.CONFIRM_PATH, confirm_submit)
