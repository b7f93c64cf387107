"""The store's remote-access surface: the hub's session (HTTP Basic client credentials),
a person's broker token and the "My home" page (browser session)."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any

import aiohttp_jinja2
from aiohttp import web
from authlib.oauth2 import OAuth2Error
from multidict import CIMultiDict, MultiDict
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from cloud.accounts.sessions import require_user
from cloud.api.openapi import ApiRoutes, validation_messages
from cloud.authz import authorize
from cloud.oauth.adapter import AiohttpOAuth2Request, public_uri
from cloud.oauth.const import AUTH_SECRET_BASIC
from cloud.oauth.models import OAuthClient
from cloud.oauth.runtime import OAUTH, async_run_authlib
from cloud.remote import broker_tokens, service
from cloud.remote.const import (
    ACTION_HOME,
    BROKER_TOKEN_PATH,
    ERROR_UNAVAILABLE,
    HUB_SESSION_PATH,
    MAX_HUB_SESSION_BYTES,
    MAX_MEMBERS,
    MAX_SUBJECT_LENGTH,
)
from cloud.remote.runtime import REMOTE
from cloud.web.forms import transaction
from cloud.web.keys import DB, SETTINGS
from cloud.web.middleware import CONTENT_SECURITY_POLICY, csrf_exempt

_LOGGER = logging.getLogger(__name__)

Subject = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUBJECT_LENGTH)]


class HubSessionIn(BaseModel):
    """What a hub says about remote access: on or off, and the store accounts it lets in."""

    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool
    members: list[Subject] = Field(default_factory=list, max_length=MAX_MEMBERS)


class HubSessionOut(BaseModel):
    """The hub's broker credentials (none when remote access is off)."""

    enabled: bool
    broker_url: str | None = None
    token: str | None = None
    # The MQTT client id this token is tied to (``hub-<hub>-<32 random hex>``, new each
    # session): the hub connects with it, and nobody can guess it to take its place.
    client_id: str | None = None
    expires_in: int | None = None
    topic_root: str | None = None
    # Subjects sent but not let in, and why: "not_a_store_account" (no confirmed account)
    # or "not_signed_in_to_this_hub" (an account that never signed in to this hub).
    ignored: list[str] | None = None
    ignored_reasons: dict[str, str] | None = None


def _json_error(
    kind: type[web.HTTPException], error: str, description: str, **extra: Any
) -> web.HTTPException:
    body = {"error": error, "error_description": description, **extra}
    headers = {"WWW-Authenticate": 'Basic realm="ethos"'} if kind is web.HTTPUnauthorized else None
    return kind(text=json.dumps(body), content_type="application/json", headers=headers)


def _unavailable() -> web.HTTPException:
    return _json_error(
        web.HTTPServiceUnavailable, ERROR_UNAVAILABLE, "This store has no remote-access broker."
    )


async def _async_authenticate_hub(request: web.Request) -> OAuthClient:
    """The OAuth client whose Basic credentials came with the request (the provider's own
    client authentication: constant-time secret check), or 401."""
    settings = request.app[SETTINGS]
    oauth_request = AiohttpOAuth2Request(
        request.method,
        public_uri(request, settings.base_url, settings.production),
        CIMultiDict(request.headers),
        MultiDict(),
        MultiDict(),
    )
    try:
        client: OAuthClient = await async_run_authlib(
            request.app,
            lambda server: server.authenticate_client(oauth_request, [AUTH_SECRET_BASIC], "remote"),
            on_loop=True,
        )
    except OAuth2Error as err:
        raise _json_error(
            web.HTTPUnauthorized,
            "invalid_client",
            "Send the hub's client_id and client_secret with HTTP Basic.",
        ) from err
    return client


def _too_large(size: int) -> web.HTTPException:
    body = {"error": "invalid_request", "error_description": "The body is too large."}
    return web.HTTPRequestEntityTooLarge(
        max_size=MAX_HUB_SESSION_BYTES,
        actual_size=size,
        text=json.dumps(body),
        content_type="application/json",
    )


async def _async_read_hub_session(request: web.Request) -> HubSessionIn:
    if request.content_type != "application/json":
        raise _json_error(web.HTTPUnsupportedMediaType, "invalid_request", "Send application/json.")
    if (request.content_length or 0) > MAX_HUB_SESSION_BYTES:
        raise _too_large(request.content_length or 0)
    raw = await request.read()
    if len(raw) > MAX_HUB_SESSION_BYTES:
        raise _too_large(len(raw))
    try:
        return HubSessionIn.model_validate_json(raw)
    except ValidationError as err:
        raise _json_error(
            web.HTTPBadRequest,
            "invalid_request",
            f'Send {{"enabled": true|false, "members": [up to {MAX_MEMBERS} store subjects]}}.',
            fields=validation_messages(err),
        ) from err


ROUTES = ApiRoutes()


@ROUTES.route(
    "POST",
    HUB_SESSION_PATH,
    summary=(
        "A hub turns remote access on (with the store accounts it lets in) or off; "
        "HTTP Basic with the hub's client credentials. Answers the hub's broker token."
    ),
    tag="remote",
    request=HubSessionIn,
    response=HubSessionOut,
    errors=(400, 401, 413, 503),
)
@csrf_exempt  # authenticated by the client's credentials, never by a browser's cookie
async def hub_session(request: web.Request) -> web.Response:
    runtime = request.app[REMOTE]
    client = await _async_authenticate_hub(request)  # first: only a hub learns more
    if not runtime.settings.configured:
        raise _unavailable()
    if refusal := service.can_open_hub_session(client):
        raise _json_error(web.HTTPForbidden, refusal.code, refusal.message)
    wanted = await _async_read_hub_session(request)
    async with transaction(request.app) as session:
        # Read again, locked, in this transaction: a hub unlinked since it authenticated
        # is refused, not a 500 on its vanished foreign key.
        if await service.async_lock_client(session, client.client_id) is None:
            raise _json_error(web.HTTPUnauthorized, "invalid_client", "This hub is unlinked.")
        outcome = await service.update_hub_session(
            session, client.client_id, wanted.enabled, wanted.members
        )
    await runtime.async_revoke(outcome.lost)
    if not outcome.enabled:
        return web.json_response({"enabled": False})
    minted = broker_tokens.mint_hub_token(
        request.app[OAUTH].keys().signing,
        client.client_id,
        issuer=request.app[SETTINGS].base_url,
    )
    answer = HubSessionOut(
        enabled=True,
        broker_url=runtime.settings.mqtt_url,
        token=minted.token,
        client_id=minted.client_id,
        expires_in=minted.expires_in,
        topic_root=service.topic_root(client.client_id),
        ignored=list(outcome.ignored),
        ignored_reasons=dict(outcome.ignored),
    )
    return web.json_response(answer.model_dump(mode="json", exclude_none=True))


async def broker_token(request: web.Request) -> web.Response:
    """A person's token for the hubs that let them in (session and CSRF header)."""
    principal = await authorize(request, ACTION_HOME)
    settings = request.app[REMOTE].settings
    if not settings.configured:
        raise _unavailable()
    async with request.app[DB]() as session:
        homes = await service.homes_of(session, principal.user_id)
    body: dict[str, Any] = {
        "ws_url": settings.ws_url,
        "homes": [{"hub": home.hub, "name": home.name} for home in homes],
    }
    if homes:
        # Tied to one MQTT client id, so no other person's token can use its queues.
        minted = broker_tokens.mint_person_token(
            request.app[OAUTH].keys().signing,
            principal.user_id,
            [home.hub for home in homes],
            client_id=broker_tokens.new_browser_client_id(),
            issuer=request.app[SETTINGS].base_url,
        )
        body.update(token=minted.token, expires_in=minted.expires_in, client_id=minted.client_id)
    return web.json_response(body)


def home_content_security_policy(ws_url: str | None) -> str:
    """The store's policy, letting this page's script reach the broker and nothing else."""
    if not ws_url:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace("connect-src 'self'", f"connect-src 'self' {ws_url}")


async def home_page(request: web.Request) -> web.Response:
    await require_user(request)  # a browser without a session goes to the sign-in page
    principal = await authorize(request, ACTION_HOME)
    settings = request.app[REMOTE].settings
    homes: list[service.Home] = []
    if settings.configured:
        async with request.app[DB]() as session:
            homes = await service.homes_of(session, principal.user_id)
    response = aiohttp_jinja2.render_template(
        "remote/home.html",
        request,
        {"configured": settings.configured, "homes": homes, "token_url": BROKER_TOKEN_PATH},
    )
    response.headers["Content-Security-Policy"] = home_content_security_policy(settings.ws_url)
    return response
