"""HTTP endpoints of the provider: discovery, keys, authorize (with its consent screen),
token, userinfo, revoke, device authorization, client registration; and `setup`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from authlib.oauth2.base import invalid_error_characters
from authlib.oauth2.rfc6749 import InvalidRequestError, InvalidScopeError, OAuth2Error
from multidict import CIMultiDict

from cloud.accounts.sessions import current_user
from cloud.authz import (
    BEARER_RESOLVER,
    Principal,
    accepts_bearer,
    authorize,
    can_execute,
    grantable_scopes,
)
from cloud.oauth import grants
from cloud.oauth.adapter import (
    AiohttpJsonRequest,
    AiohttpOAuth2Request,
    OAuthResponse,
    async_form_request,
    async_form_token_request,
    async_read_form,
    async_read_json_object,
    bridge,
    public_uri,
)
from cloud.oauth.bearer import async_resolve_bearer, bearer_token
from cloud.oauth.claims import EndUser, user_claims
from cloud.oauth.const import (
    AUTHORIZE_PATH,
    DEVICE_AUTHORIZATION_PATH,
    DEVICE_PAGE_PATH,
    DISCOVERY_PATH,
    GRANT_REFRESH_TOKEN,
    JWKS_PATH,
    REGISTRATION_PATH,
    REVOKE_PATH,
    SCOPE_DESCRIPTIONS,
    SCOPE_OPENID,
    SCOPE_REGISTER,
    TOKEN_PATH,
    UNLINK_HUB_PATH,
    USERINFO_PATH,
)
from cloud.oauth.pages import (
    account_access_context,
    allow_form_redirect_to,
    device_decision,
    device_page,
    login_page_leading_to_a_client,
    login_redirect,
    render,
    revoke_access,
    sign_in_context,
    unlink_hub,
    unlink_hub_page,
)
from cloud.oauth.registration import NOT_IN_URLS, ClientMetadata
from cloud.oauth.runtime import OAUTH, async_run_authlib, create_runtime, oauth_ctx
from cloud.oauth.server import EthosAuthorizationServer
from cloud.web.keys import SETTINGS
from cloud.web.middleware import answers_no_page, csrf_exempt

_LOGGER = logging.getLogger(__name__)


def _error_page(request: web.Request, error: OAuth2Error) -> web.Response:
    # Never redirect when the client or its redirect URI is not trusted: explain instead.
    return render(
        request,
        "error.html",
        400,
        error=error.error,
        description=error.description or "The application sent an invalid sign-in request.",
    )


# Parameters Authlib may quote in an error: RFC 6749 limits what an error may contain, so a
# value outside that set is refused here, with a message, before Authlib sees it.
_QUOTED_PARAMETERS = ("redirect_uri", "response_type")


def _parameter_problem(params: dict[str, str]) -> InvalidRequestError | None:
    for name in _QUOTED_PARAMETERS:
        value = params.get(name) or ""
        if invalid_error_characters(value) or (name == "redirect_uri" and NOT_IN_URLS & set(value)):
            return InvalidRequestError(
                f"'{name}' holds characters a URL cannot carry (a backslash, a quote, a tab, "
                "a space or a control character): check the application's settings."
            )
    return None


@dataclass(frozen=True)
class ConsentRequest:
    client_name: str
    scopes: list[str]
    redirect_uri: str
    registrant: str | None  # the email of the account that registered the client
    withheld: list[str]  # asked for, but never given to this account by this client


@dataclass(frozen=True)
class AuthorizeOutcome:
    response: OAuthResponse | None = None
    error: OAuth2Error | None = None
    login: bool = False
    consent: ConsentRequest | None = None


def _decide_authorization(
    server: EthosAuthorizationServer,
    oauth_request: AiohttpOAuth2Request,
    user: EndUser | None,
    decision: str | None,
) -> AuthorizeOutcome:
    """Validate the request, then issue a code, ask for consent or ask to sign in."""
    if problem := _parameter_problem(oauth_request.payload.data):
        return AuthorizeOutcome(error=problem)
    try:
        grant = server.get_consent_grant(oauth_request, end_user=user)
    except OAuth2Error as error:
        if error.redirect_uri:  # the client and its redirect URI were verified
            return AuthorizeOutcome(response=server.handle_error_response(oauth_request, error))
        return AuthorizeOutcome(error=error)
    if user is None:
        return AuthorizeOutcome(login=True)
    client, requested = grant.client, oauth_request.scope.split()
    if decision == "deny":
        denied = server.create_authorization_response(oauth_request, grant_user=None, grant=grant)
        return AuthorizeOutcome(response=denied)
    wanted = grantable_scopes(
        requested,
        first_party=client.first_party,
        registrant_id=client.owner_user_id,
        user_id=user.id,
    )
    if not wanted:
        refused = InvalidScopeError(
            "Only the account that registered this application can grant what it asks for.",
            redirect_uri=grant.redirect_uri,
            state=oauth_request.payload.state,
        )
        return AuthorizeOutcome(response=server.handle_error_response(oauth_request, refused))
    scope = " ".join(wanted)
    if not client.first_party:
        if decision == "allow":
            bridge().in_request(lambda s: grants.save_consent(s, user.id, client.client_id, scope))
        else:
            granted = bridge().in_request(
                lambda s: grants.consented_scope(s, user.id, client.client_id)
            )
            if not set(wanted) <= granted:
                owner_id = client.owner_user_id
                registrant = (
                    bridge().in_request(lambda s: grants.get_user(s, owner_id))
                    if owner_id is not None
                    else None
                )
                return AuthorizeOutcome(
                    consent=ConsentRequest(
                        client.name,
                        wanted,
                        grant.redirect_uri,
                        registrant.email if registrant else None,
                        [scope for scope in requested if scope not in wanted],
                    )
                )
    issued = server.create_authorization_response(oauth_request, grant_user=user, grant=grant)
    return AuthorizeOutcome(response=issued)


async def authorize_endpoint(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    oauth_request = await async_form_request(request, settings.base_url, settings.production)
    user = await current_user(request)
    decision = oauth_request.form.get("decision") if request.method == "POST" else None
    end_user = EndUser.of(user) if user else None
    outcome = await async_run_authlib(
        request.app,
        lambda server: _decide_authorization(server, oauth_request, end_user, decision),
    )
    if outcome.response is not None:
        return outcome.response.to_aiohttp()
    if outcome.error is not None:
        return _error_page(request, outcome.error)
    if outcome.login:
        raise login_redirect(request)
    assert outcome.consent is not None
    consent = outcome.consent
    response = render(
        request,
        "consent.html",
        client_name=consent.client_name,
        scopes=[(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in consent.scopes],
        withheld=[(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in consent.withheld],
        redirect_host=urlsplit(consent.redirect_uri).netloc,
        registrant=consent.registrant,
        action=request.raw_path,
    )
    # The answer redirects to the client: let this one form post lead there.
    allow_form_redirect_to(response, consent.redirect_uri)
    return response


async def _form_endpoint(request: web.Request, name: str | None) -> web.Response:
    light = await async_form_token_request(request) if name is None else None
    if light is not None and light.payload.grant_type == GRANT_REFRESH_TOKEN:
        # The grant thousands of hubs call: on the loop, one round trip (refresh.py), the
        # form read in place.
        refreshed = await request.app[OAUTH].refresh_grant().async_token_response(light)
        return refreshed.to_aiohttp()
    settings = request.app[SETTINGS]
    oauth_request = await async_form_request(request, settings.base_url, settings.production)

    def work(server: EthosAuthorizationServer) -> OAuthResponse:
        if name is None:
            return cast(OAuthResponse, server.create_token_response(oauth_request))
        return cast(OAuthResponse, server.create_endpoint_response(name, oauth_request))

    if name is None and oauth_request.payload.grant_type == GRANT_REFRESH_TOKEN:
        # The same grant, its parameters also in the query string or a multipart body.
        refreshed = await request.app[OAUTH].refresh_grant().async_token_response(oauth_request)
        return refreshed.to_aiohttp()
    answer = await async_run_authlib(request.app, work)
    return answer.to_aiohttp()


@csrf_exempt
@answers_no_page
async def token_endpoint(request: web.Request) -> web.Response:
    return await _form_endpoint(request, None)


@csrf_exempt
@answers_no_page
async def revocation_endpoint(request: web.Request) -> web.Response:
    return await _form_endpoint(request, "revocation")


@csrf_exempt
@answers_no_page
async def device_authorization_endpoint(request: web.Request) -> web.Response:
    return await _form_endpoint(request, "device_authorization")


def _oauth_error(status: int, error: str, description: str, **headers: str) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description}, status=status, headers=headers
    )


@csrf_exempt
@accepts_bearer(SCOPE_REGISTER)
@answers_no_page
async def registration_endpoint(request: web.Request) -> web.Response:
    """RFC 7591, authorised by the hub's onboarding access token (scope `hub.register`)."""
    principal, refusal = None, None
    if bearer_token(request) is not None:
        principal, refusal = await can_execute(request, "oauth.register")
    if principal is None:
        return _oauth_error(
            401,
            "invalid_token",
            "Send the onboarding access token as a Bearer token.",
            **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if refusal is not None:
        return _oauth_error(
            403,
            "insufficient_scope",
            f"Registering a client needs the '{SCOPE_REGISTER}' scope.",
            **{"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{SCOPE_REGISTER}"'},
        )
    data = await async_read_json_object(request)
    if data is None:
        return _oauth_error(400, "invalid_client_metadata", "Send the metadata as a JSON object.")
    metadata, error, description = ClientMetadata.parse(data)
    if metadata is None:
        return _oauth_error(400, error or "invalid_client_metadata", description)
    settings = request.app[SETTINGS]
    json_request = AiohttpJsonRequest(
        request.method,
        public_uri(request, settings.base_url, settings.production),
        CIMultiDict(request.headers),
        metadata,
        principal,
    )
    response = await async_run_authlib(
        request.app,
        lambda server: server.create_endpoint_response("client_registration", json_request),
    )
    return cast(web.Response, response.to_aiohttp())


@answers_no_page
async def discovery_endpoint(request: web.Request) -> web.Response:
    return web.json_response(
        request.app[OAUTH].server.metadata(), headers={"Cache-Control": "public, max-age=300"}
    )


@answers_no_page
async def jwks_endpoint(request: web.Request) -> web.Response:
    # Short cache: a rotated-in key must reach verifiers soon.
    return web.json_response(
        request.app[OAUTH].keys().jwks(), headers={"Cache-Control": "public, max-age=60"}
    )


@csrf_exempt
@accepts_bearer(SCOPE_OPENID)
@answers_no_page
async def userinfo_endpoint(request: web.Request) -> web.Response:
    if request.method == "POST":
        # Tokens come in the Authorization header only; a body is read only to refuse a
        # broken one clearly instead of ignoring it.
        await async_read_form(request)
    if bearer_token(request) is None:
        return _oauth_error(
            401,
            "invalid_token",
            "Send an access token as a Bearer token.",
            **{"WWW-Authenticate": 'Bearer realm="ethos"'},
        )
    principal: Principal = await authorize(request, "oauth.userinfo")
    scope = " ".join(sorted(principal.scopes or ()))
    # Only confirmed accounts hold tokens (the resolver checks), so the address is verified.
    return web.json_response(
        user_claims(principal.user_id, principal.email, True, scope),
        headers={"Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    """Mount the provider: routes, the bearer-token resolver and its resources."""
    app[OAUTH] = create_runtime(app)
    app[BEARER_RESOLVER] = async_resolve_bearer
    app.cleanup_ctx.append(oauth_ctx)
    app.on_response_prepare.append(login_page_leading_to_a_client)
    processors = aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY
    app[processors] = (*app.get(processors, ()), account_access_context, sign_in_context)
    router = app.router
    router.add_get(DISCOVERY_PATH, discovery_endpoint)
    router.add_get(JWKS_PATH, jwks_endpoint)
    router.add_route("GET", AUTHORIZE_PATH, authorize_endpoint)
    router.add_route("POST", AUTHORIZE_PATH, authorize_endpoint)
    router.add_post(TOKEN_PATH, token_endpoint)
    router.add_post(REVOKE_PATH, revocation_endpoint)
    router.add_post(DEVICE_AUTHORIZATION_PATH, device_authorization_endpoint)
    router.add_post(REGISTRATION_PATH, registration_endpoint)
    router.add_route("GET", USERINFO_PATH, userinfo_endpoint)
    router.add_route("POST", USERINFO_PATH, userinfo_endpoint)
    router.add_get(DEVICE_PAGE_PATH, device_page)
    router.add_post(DEVICE_PAGE_PATH, device_decision)
    router.add_post("/account/access/revoke", revoke_access)
    router.add_get(UNLINK_HUB_PATH, unlink_hub_page)
    router.add_post(UNLINK_HUB_PATH, unlink_hub)
