"""Account pages: sign-up, confirmation, sign-in and out, password reset and change, the
account page."""

from __future__ import annotations

from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts import passwords, service, throttle
from cloud.accounts.keys import ACCOUNT_HOOKS
from cloud.accounts.sessions import current_user, require_user, sign_in, sign_out
from cloud.domain import InputErrors, Refusal
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB, SETTINGS
from cloud.web.origin import client_address, safe_next

SIGNUP_SENT = (
    "If {email} can be used for a new account, we have sent a link to it. "
    "Open it to confirm your address."
)


def _links(request: web.Request) -> service.Links:
    return service.Links(request.app[SETTINGS].base_url)


def _render(request: web.Request, name: str, status: int = 200, **context: object) -> web.Response:
    return aiohttp_jinja2.render_template(f"account/{name}", request, context, status=status)


def _refused(
    request: web.Request, name: str, refusal: Refusal, retry_at: datetime | None, **context: object
) -> web.Response:
    """A form shown again with the refusal's message (and, while blocked, how long to wait
    in words and in Retry-After)."""
    if retry_at is None:
        return _render(request, name, refusal.status, message=refusal.message, **context)
    wait = throttle.seconds_until(retry_at)
    message = throttle.throttled_message(wait)
    response = _render(request, name, refusal.status, message=message, **context)
    response.headers["Retry-After"] = str(wait)
    return response


async def signup_form(request: web.Request) -> web.Response:
    if await current_user(request):
        raise web.HTTPSeeOther("/account")
    return _render(request, "signup.html")


async def signup_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    email = form.get("email", "")
    try:
        async with transaction(request.app) as session:
            await service.sign_up(session, _links(request), email, form.get("password", ""))
    except InputErrors as err:
        return _render(request, "signup.html", 422, errors=err.fields, email=email)
    return _render(
        request,
        "check_email.html",
        message=SIGNUP_SENT.format(email=service.normalise_email(email)),
    )


async def confirm_page(request: web.Request) -> web.Response:
    """The mailed link only shows a form: mail scanners that open links must not use it up,
    and only the person who knows the sign-up's password can complete it."""
    token = request.query.get("token", "")
    async with request.app[DB]() as session:
        pending, problem = await service.check_confirmation(session, token)
    if pending is None:
        return _link_problem(request, problem, "confirm")
    return _render(request, "confirm.html", token=token, pending=pending)


async def confirm_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    token = form.get("token", "")
    async with request.app[DB]() as session:
        pending, problem = await service.check_confirmation(session, token)
    if pending is None:
        return _link_problem(request, problem, "confirm")
    try:
        async with transaction(request.app) as session:
            outcome = await service.confirm(
                session,
                token,
                form.get("password", ""),
                client_address(request),
                request.app[ACCOUNT_HOOKS],
            )
    except InputErrors as err:
        return _render(
            request, "confirm.html", 422, token=token, pending=pending, errors=err.fields
        )
    if outcome.problem is not None:
        return _link_problem(request, outcome.problem, "confirm")
    if outcome.user is None:
        assert outcome.refusal is not None
        return _refused(
            request, "confirm.html", outcome.refusal, outcome.retry_at, token=token, pending=pending
        )
    response = web.HTTPSeeOther("/account?welcome=1")
    await sign_in(request, response, outcome.user)
    raise response


def _link_problem(
    request: web.Request, problem: service.TokenProblem | None, kind: str
) -> web.Response:
    reason = problem.reason if problem else "unknown"
    titles = {
        "expired": "This link has expired",
        "used": "This link was already used",
        "unknown": "This link is not valid",
    }
    explain = {
        "expired": "Links are valid for 24 hours.",
        "used": "Each link works once, and a newer confirmation or password change ends the "
        "links sent before it."
        + (" If your address is confirmed, sign in." if kind == "confirm" else ""),
        "unknown": "It may have been cut off by your mail program.",
    }
    resend: tuple[str | None, str] = (
        ("/account/resend", "Send a new confirmation link")
        if kind == "confirm"
        else (None, "")  # an email change is asked again, signed in, with the password
        if kind == "email"
        else ("/account/reset", "Send a new reset link")
    )
    return _render(
        request,
        "link_problem.html",
        410 if reason in ("expired", "used") else 400,
        title=titles[reason],
        message=explain[reason],
        email=problem.email if problem else None,
        resend_action=resend[0],
        resend_label=resend[1],
    )


def _resend_page(request: web.Request, status: int = 200, **extra: object) -> web.Response:
    return _render(
        request,
        "resend.html",
        status,
        title="Send the confirmation link again",
        intro="Enter the address you signed up with.",
        action="/account/resend",
        button="Send link",
        **extra,
    )


async def resend_form(request: web.Request) -> web.Response:
    return _resend_page(request)


async def resend_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    try:
        async with transaction(request.app) as session:
            await service.resend_confirmation(session, _links(request), form.get("email", ""))
    except InputErrors as err:
        return _resend_page(request, 422, errors=err.fields, email=form.get("email"))
    return _render(
        request,
        "check_email.html",
        message="If that address has an account waiting for confirmation, "
        "a new link is on its way.",
    )


async def login_form(request: web.Request) -> web.Response:
    if await current_user(request):
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return _render(request, "login.html", next=safe_next(request.query.get("next")))


async def login_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    email, target = form.get("email", ""), safe_next(form.get("next"))
    async with transaction(request.app) as session:
        user, refusal, retry_at = await service.authenticate(
            session, email, form.get("password", ""), client_address(request)
        )
    if user is None:
        assert refusal is not None
        return _refused(
            request,
            "login.html",
            refusal,
            retry_at,
            email=email,
            next=target,
            unconfirmed=refusal.code == "not_confirmed",
        )
    response = web.HTTPSeeOther(target)
    await sign_in(request, response, user)
    raise response


async def logout_submit(request: web.Request) -> web.Response:
    response = web.HTTPSeeOther("/")
    await sign_out(request, response)
    raise response


ACCOUNT_NOTICES = {
    "welcome": "Your address is confirmed. Welcome to Ethos!",
    "email_changed": "Your address was changed: sign in with it from now on.",
    "password_changed": "Your password was changed. Every other session was signed out, and "
    "every hub and app has to sign in again.",
}


async def account_page(request: web.Request) -> web.Response:
    user = await require_user(request)
    message = next((text for key, text in ACCOUNT_NOTICES.items() if request.query.get(key)), None)
    return _render(request, "account.html", user=user, message=message)


async def password_form(request: web.Request) -> web.Response:
    await require_user(request)
    return _render(request, "password.html")


async def password_submit(request: web.Request) -> web.Response:
    """Change the password: ends every session, token and mailed link; this browser gets a
    fresh session."""
    user = await require_user(request)
    assert user.id is not None
    form = await read_form(request)
    try:
        async with transaction(request.app) as session:
            refusal, retry_at = await passwords.change_password(
                session,
                user.id,
                form.get("current_password", ""),
                form.get("new_password", ""),
                client_address(request),
            )
    except InputErrors as err:
        # The rules of a new password are the sign-up's, reported on this form's field.
        errors = {"new_password": err.fields.get("password", "Choose another password.")}
        return _render(request, "password.html", 422, errors=errors)
    if refusal is not None:
        return _refused(request, "password.html", refusal, retry_at)
    response = web.HTTPSeeOther("/account?password_changed=1")
    await sign_in(request, response, user)
    raise response


async def reset_request_form(request: web.Request) -> web.Response:
    token = request.query.get("token")
    if token:
        async with request.app[DB]() as session:
            link, problem = await service.usable_link(session, token, service.PURPOSE_RESET)
        if link is None:
            return _link_problem(request, problem, "reset")
        return _render(request, "reset_form.html", token=token)
    return _reset_request_page(request)


def _reset_request_page(request: web.Request, status: int = 200, **extra: object) -> web.Response:
    return _render(
        request,
        "resend.html",
        status,
        title="Reset your password",
        intro="We will mail you a link to choose a new password.",
        action="/account/reset",
        button="Send reset link",
        **extra,
    )


async def reset_request_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    try:
        async with transaction(request.app) as session:
            await passwords.request_password_reset(session, _links(request), form.get("email", ""))
    except InputErrors as err:
        return _reset_request_page(request, 422, errors=err.fields, email=form.get("email"))
    return _render(
        request,
        "check_email.html",
        message="We have sent a mail to that address with what to do next.",
    )


async def reset_submit(request: web.Request) -> web.Response:
    form = await read_form(request)
    token = form.get("token", "")
    try:
        async with transaction(request.app) as session:
            user, problem = await passwords.reset_password(
                session, token, form.get("password", ""), request.app[ACCOUNT_HOOKS]
            )
    except InputErrors as err:
        return _render(request, "reset_form.html", 422, token=token, errors=err.fields)
    if user is None:
        return _link_problem(request, problem, "reset")
    response = web.HTTPSeeOther("/account")
    await sign_in(request, response, user)
    raise response


def add_page_routes(app: web.Application) -> None:
    router = app.router
    router.add_get("/account", account_page, name="account")
    router.add_get("/account/signup", signup_form)
    router.add_post("/account/signup", signup_submit)
    router.add_get("/account/confirm", confirm_page)
    router.add_post("/account/confirm", confirm_submit)
    router.add_get("/account/resend", resend_form)
    router.add_post("/account/resend", resend_submit)
    router.add_get("/account/login", login_form, name="login")
    router.add_post("/account/login", login_submit)
    router.add_post("/account/logout", logout_submit)
    router.add_get("/account/reset", reset_request_form)
    router.add_post("/account/reset", reset_request_submit)
    router.add_post("/account/reset/new", reset_submit)
    router.add_get("/account/password", password_form)
    router.add_post("/account/password", password_submit)
