"""The provider's pages in the store: device approval at /device, the account page's list
of hubs and apps with access (and revoking them), the hubs the account linked (and
unlinking one), and the sign-in page's form policy."""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts import throttle
from cloud.accounts.sessions import current_user
from cloud.authz import authorize
from cloud.db import utcnow
from cloud.oauth import grants, hubs
from cloud.oauth.adapter import FORM_TYPES
from cloud.oauth.const import (
    ACTION_UNLINK_HUB,
    AUTHORIZE_PATH,
    DEVICE_PAGE_PATH,
    SCOPE_DESCRIPTIONS,
    UNLINK_CONFIRMATION,
)
from cloud.oauth.models import OAuthClient
from cloud.oauth.runtime import OAUTH
from cloud.web.forms import posted_form, read_form, transaction
from cloud.web.keys import DB
from cloud.web.middleware import CONTENT_SECURITY_POLICY
from cloud.web.origin import client_address

_LOGGER = logging.getLogger(__name__)
UNKNOWN_CODE = "This code is unknown, already used or expired. Check the code on your hub."
TOO_MANY_CODES = "Too many wrong codes. Wait {seconds} s, then type the code on your hub again."


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    return aiohttp_jinja2.render_template(f"oauth/{name}", request, context, status=status)


def login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther("/account/login?" + urlencode({"next": request.raw_path}))


def allow_form_redirect_to(response: web.StreamResponse, redirect_uri: str) -> None:
    """Chrome applies `form-action` to every redirect after a form post: name the client's
    (already verified) origin beside 'self' on the page whose form leads there."""
    target = urlsplit(redirect_uri)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {target.scheme}://{target.netloc}"
    )


async def _client_behind_sign_in(request: web.Request) -> tuple[OAuthClient, str] | None:
    """The registered client (and its verified redirect URI) an authorization request names,
    when the store's sign-in page continues that request; None otherwise."""
    if request.path != "/account/login":
        return None
    if request.method == "GET":
        target = request.query.get("next", "")
    elif request.method == "POST" and request.content_type in FORM_TYPES:
        target = str(posted_form(request).get("next", ""))
    else:
        return None
    if not target.startswith(AUTHORIZE_PATH + "?"):
        return None
    params = parse_qs(urlsplit(target).query)
    client_id = params.get("client_id", [""])[0]
    redirect_uri = params.get("redirect_uri", [""])[0]
    if not client_id or not redirect_uri:
        return None
    async with request.app[DB]() as session:
        client = await grants.get_client(session, client_id)
    if client is None or not client.check_redirect_uri(redirect_uri):
        return None
    return client, redirect_uri


async def login_page_leading_to_a_client(
    request: web.Request, response: web.StreamResponse
) -> None:
    """The store's sign-in form, when it continues an authorization, ends at the client:
    login POST -> /oauth/authorize -> the client's redirect URI. Allow that origin on the
    sign-in page, but only for a registered client and one of its exact redirect URIs."""
    found = await _client_behind_sign_in(request)
    if found is not None:
        allow_form_redirect_to(response, found[1])


async def sign_in_context(request: web.Request) -> dict[str, object]:
    """On the sign-in page: which hub is asking, by the name it registered with. Only
    self-registered clients are hubs; first-party apps are the store's own."""
    found = await _client_behind_sign_in(request)
    if found is None or found[0].first_party:
        return {}
    return {"signing_in_hub": found[0].name}


# The approval page for the device flow (the hub shows the code, the owner approves here).


# User codes are short so people can type them: wrong guesses are throttled per account
# and per address (RFC 8628 §5.1), with the sign-in's brute-force policies.


def _code_keys(request: web.Request, user_id: int) -> list[tuple[str, throttle.ThrottlePolicy]]:
    return [
        (f"device-code:user:{user_id}", throttle.ACCOUNT_POLICY),
        (f"device-code:ip:{client_address(request)}", throttle.ADDRESS_POLICY),
    ]


async def _refusal_while_guessing(
    request: web.Request, user_id: int, user_code: str
) -> web.Response | None:
    keys = [key for key, _policy in _code_keys(request, user_id)]
    async with request.app[DB]() as session:
        until = await throttle.blocked_until(session, keys)
    if until is None:
        return None
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    response = render(
        request,
        "device.html",
        429,
        user_code=user_code,
        message=TOO_MANY_CODES.format(seconds=seconds),
    )
    response.headers["Retry-After"] = str(seconds)
    return response


async def _unknown_code(request: web.Request, user_id: int, user_code: str) -> web.Response:
    async with transaction(request.app) as session:
        for key, policy in _code_keys(request, user_id):
            await throttle.record_failure(session, key, policy)
    _LOGGER.info("user %s typed an unknown device code", user_id)
    return render(request, "device.html", 404, user_code=user_code, message=UNKNOWN_CODE)


async def device_page(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None or user.id is None:
        raise login_redirect(request)
    raw = request.query.get("user_code", "")
    if not raw:
        return render(request, "device.html")
    if refusal := await _refusal_while_guessing(request, user.id, raw):
        return refusal
    async with request.app[DB]() as session:
        grant = await grants.pending_device_grant(session, raw)
        client = await grants.get_client(session, grant.client_id) if grant else None
    if grant is None or client is None:
        return await _unknown_code(request, user.id, raw)
    return render(
        request,
        "device.html",
        user_code=grant.user_code,
        client_name=client.name,
        scopes=[(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in grant.scope.split()],
    )


async def device_decision(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None or user.id is None:
        raise web.HTTPSeeOther("/account/login?" + urlencode({"next": DEVICE_PAGE_PATH}))
    form = await read_form(request)
    user_code, decision = form.get("user_code", ""), form.get("decision")
    if decision not in ("approve", "deny"):
        raise web.HTTPSeeOther(DEVICE_PAGE_PATH + "?" + urlencode({"user_code": user_code}))
    if refusal := await _refusal_while_guessing(request, user.id, user_code):
        return refusal
    async with transaction(request.app) as session:
        grant = await grants.decide_device_grant(
            session, user_code, user.id, approved=decision == "approve"
        )
    if grant is None:
        return await _unknown_code(request, user.id, user_code)
    return render(request, "device_done.html", approved=decision == "approve")


# The account page: who has access, and revoking it.


async def account_access_context(request: web.Request) -> dict[str, object]:
    if request.path != "/account":
        return {}
    user = await current_user(request)
    if user is None or user.id is None:
        return {}
    async with request.app[DB]() as session:
        return {
            "oauth_access": await grants.clients_with_access(session, user.id),
            "oauth_hubs": await hubs.registered_hubs(session, user.id),
        }


async def revoke_access(request: web.Request) -> web.Response:
    user = await current_user(request)
    if user is None or user.id is None:
        raise web.HTTPSeeOther("/account/login?next=/account")
    form = await read_form(request)
    async with transaction(request.app) as session:
        count = await grants.revoke_client_access(session, user.id, form.get("client_id", ""))
    _LOGGER.info("user %s revoked %s tokens of a client", user.id, count)
    raise web.HTTPSeeOther("/account")


# Unlinking a hub the account linked: a confirmation page, then the POST (CSRF checked by
# the middleware) that deletes its client and everything it was given.


async def _hub_to_unlink(request: web.Request, *, lock: bool = False) -> OAuthClient:
    """The hub named in the path, if the signed-in account may unlink it; else 401/404."""
    user = await current_user(request)
    if user is None or user.id is None:
        raise login_redirect(request)
    async with request.app[DB]() as session:
        client = await hubs.linked_hub(session, request.match_info["client_id"])
    if refusal := hubs.can_unlink_hub(client):
        raise web.HTTPNotFound(text=refusal.message)
    assert client is not None
    await authorize(request, ACTION_UNLINK_HUB, client.owner_user_id)  # another's: 404
    return client


async def unlink_hub_page(request: web.Request) -> web.Response:
    client = await _hub_to_unlink(request)
    return render(request, "unlink_hub.html", hub=client, confirmation=UNLINK_CONFIRMATION)


async def unlink_hub(request: web.Request) -> web.Response:
    await _hub_to_unlink(request)
    form = await read_form(request)
    if form.get("confirm") != UNLINK_CONFIRMATION:  # not from the confirmation page
        raise web.HTTPSeeOther(request.path)
    hooks = tuple(request.app[OAUTH].unlink_hooks)
    async with transaction(request.app) as session:
        # Read again, locked: two unlinks at once, or the account deleted meanwhile.
        client = await hubs.linked_hub(session, request.match_info["client_id"], lock=True)
        if client is None:
            raise web.HTTPNotFound(text=hubs.NOT_A_LINKED_HUB.message)
        await authorize(request, ACTION_UNLINK_HUB, client.owner_user_id)
        name = client.name
        await hubs.unlink_hub(session, client, hooks)
    return render(request, "unlink_hub_done.html", hub_name=name)
