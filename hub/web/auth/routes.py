"""Sign-in routes: start at the store, come back with a code, or continue offline."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

import aiohttp_jinja2
from aiohttp import web

from hub.web import extensions
from hub.web.auth.const import (
    KNOWN_USER_COOKIE,
    LOGIN_STATE_COOKIE,
    OFFLINE_GRACE,
    SESSION_COOKIE,
)
from hub.web.auth.household import Identity
from hub.web.auth.oidc import ProviderUnreachable, SignInFailed
from hub.web.auth.users import NewSession
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import (
    ACCOUNT_CHECK_KEY,
    CONFIG_KEY,
    HOUSEHOLD_KEY,
    HUB_KEY,
    OIDC_KEY,
    ONBOARDING_KEY,
    USERS_KEY,
)
from hub.web.middleware import async_signed_in
from hub.web.redirects import next_after_sign_in

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
MAX_INVITE_TOKEN = 200


def _login_page(request: web.Request, status: int, **values: object) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "login.html", request, page_context(request, **values)
    )
    response.set_status(status)
    return response


def set_session_cookie(request: web.Request, response: web.StreamResponse, new: NewSession) -> None:
    max_age = int((new.expires_at - datetime.now(UTC)).total_seconds())
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


def _fresh_arrival(request: web.Request) -> bool:
    """A browser arriving by itself (typed address, bookmark: ``Sec-Fetch-Site: none``)
    that has not signed in here before: it first sees a hub page saying it is about to be
    sent to the store, instead of landing on the store's page unannounced. A click on a hub
    page (same-origin) or the page's own "continue" (``go``) goes straight on."""
    return (
        "go" not in request.query
        and request.headers.get("Sec-Fetch-Mode") == "navigate"
        and request.headers.get("Sec-Fetch-Site") == "none"
        and KNOWN_USER_COOKIE not in request.cookies
    )


@routes.get("/auth/login")
async def login(request: web.Request) -> web.StreamResponse:
    next_path = next_after_sign_in(request.query.get("next"))
    invite = request.query.get("invite") or None
    if invite is not None and len(invite) > MAX_INVITE_TOKEN:
        invite = None
    if (
        extensions.linking_available(request.app)
        and not extensions.is_linked(request.app)
        and not await request.app[HOUSEHOLD_KEY].async_has_owner()
    ):
        # No registered client yet, so nobody can sign in: the set-up flow (its first
        # steps say what is about to happen), or straight to linking once set-up is done.
        finished = request.app[ONBOARDING_KEY].finished
        raise web.HTTPSeeOther("/auth/link" if finished else "/setup")
    if _fresh_arrival(request):
        return _login_page(
            request,
            200,
            about_to=True,
            next=next_path,
            hub_name=request.app[HUB_KEY].core_config.name,
            store_url=request.app[CONFIG_KEY].cloud_url,
        )
    extensions.apply_registered_client(request.app)  # the client of the latest link
    oidc = request.app[OIDC_KEY]
    try:
        url, pending = await oidc.async_begin(next_path, client=request.remote or "", invite=invite)
    except ProviderUnreachable as err:
        _LOGGER.warning("Ethos store unreachable for sign-in: %s", err)
        known = await request.app[USERS_KEY].async_user_for_offline_credential(
            request.cookies.get(KNOWN_USER_COOKIE)
        )
        return _login_page(request, 503, unreachable=True, known_user=known, next=next_path)
    except SignInFailed as err:
        return _login_page(request, 502, problem=str(err), next=next_path)
    response = web.HTTPFound(url)
    response.set_cookie(
        LOGIN_STATE_COOKIE,
        pending.state,
        max_age=600,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/auth/",
    )
    raise response


@routes.get("/auth/callback")
async def callback(request: web.Request) -> web.StreamResponse:
    oidc, users = request.app[OIDC_KEY], request.app[USERS_KEY]
    if "error" in request.query:
        reason = request.query.get("error_description") or request.query["error"]
        return _login_page(request, 400, problem=f"the store did not sign you in: {reason[:200]}")
    code = request.query.get("code")
    try:
        pending = oidc.take_pending(
            request.query.get("state"), request.cookies.get(LOGIN_STATE_COOKIE)
        )
        if not code:
            raise SignInFailed("the store sent no authorization code")
        completed = await oidc.async_finish(pending, code)
    except SignInFailed as err:
        return _login_page(request, 400, problem=str(err))
    except ProviderUnreachable as err:
        return _login_page(request, 503, problem=f"the store became unreachable: {err}")
    verified = completed.identity
    user = await request.app[HOUSEHOLD_KEY].async_admit(
        Identity(verified.subject, verified.email, verified.email_verified, verified.name),
        linked_subject=extensions.linked_account_subject(request.app),
        invite_token=pending.invite,
    )
    if user is None or user.id is None:
        _LOGGER.warning("Refused a sign-in: store account %s is not on this hub", verified.subject)
        response = _login_page(request, 403, not_admitted=True)
        response.del_cookie(LOGIN_STATE_COOKIE, path="/auth/")
        return response
    await request.app[ACCOUNT_CHECK_KEY].async_remember(
        user.id, oidc.client_id, completed.refresh_token
    )
    session = await users.async_create_session(user)
    credential, _until = await users.async_issue_offline_credential(user)
    response = web.HTTPSeeOther(pending.next_path)
    set_session_cookie(request, response, session)
    response.set_cookie(
        KNOWN_USER_COOKIE,
        credential,
        max_age=int(OFFLINE_GRACE.total_seconds()),
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        path="/auth/",
    )
    response.del_cookie(LOGIN_STATE_COOKIE, path="/auth/")
    _LOGGER.info("Signed in %s (%s)", user.email or user.subject, user.role)
    raise response


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


@routes.post("/auth/offline")
async def offline_login(request: web.Request) -> web.StreamResponse:
    """A recently seen user continues while the store is down; never while it is up."""
    if not _same_origin(request):
        raise web.HTTPForbidden(text="cross-site sign-in refused")
    form = await async_read_form(request)
    next_path = next_after_sign_in(form.get("next", "/"))
    users = request.app[USERS_KEY]
    try:
        await request.app[OIDC_KEY].async_metadata(refresh=True)
    except ProviderUnreachable:
        pass
    except SignInFailed as err:
        return _login_page(request, 502, problem=str(err))
    else:
        raise web.HTTPSeeOther(f"/auth/login?next={quote(next_path, safe='')}")
    user = await users.async_user_for_offline_credential(request.cookies.get(KNOWN_USER_COOKIE))
    if user is None or user.id is None:
        return _login_page(
            request,
            403,
            unreachable=True,
            known_user=None,
            problem="offline sign-in is only for people who signed in here in the last 7 days",
        )
    session = await users.async_create_session(user, offline=True)
    response = web.HTTPSeeOther(next_path)
    set_session_cookie(request, response, session)
    raise response


@routes.post("/auth/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    users = request.app[USERS_KEY]
    token = request.cookies.get(SESSION_COOKIE)
    principal = await async_signed_in(request)
    form = await async_read_form(request)
    sent = form.get("csrf")
    if principal is not None and token:
        if not isinstance(sent, str) or not hmac.compare_digest(sent, principal.csrf_token):
            raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
        await users.async_end_session(token)
    response = web.HTTPSeeOther("/auth/signed-out")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@routes.get("/auth/signed-out")
async def signed_out(request: web.Request) -> web.Response:
    return _login_page(request, 200, signed_out=True)
