"""Authlib's authorization server, configured for Ethos: grants, endpoints, token rules.

The refresh grant is not here: it runs on the event loop (cloud/oauth/refresh.py).

Everything here is synchronous and runs in a worker thread; database access goes
through :func:`cloud.oauth.adapter.bridge` (see the adapter's docstring for why).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7591 import (
    ClientRegistrationEndpoint,
    InvalidClientMetadataError,
    InvalidRedirectURIError,
)
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode

from cloud.authz import grantable_scopes
from cloud.db import utcnow
from cloud.oauth import grants
from cloud.oauth.adapter import AiohttpJsonRequest, AiohttpOAuth2Request, OAuthResponse, bridge
from cloud.oauth.claims import EndUser, user_claims
from cloud.oauth.const import (
    AUTH_SECRET_BASIC,
    AUTHORIZATION_CODE_SECONDS,
    AUTHORIZE_PATH,
    DEFAULT_REGISTERED_NAME,
    DEVICE_AUTHORIZATION_PATH,
    DEVICE_PAGE_PATH,
    GRANT_AUTHORIZATION_CODE,
    GRANT_DEVICE_CODE,
    GRANT_REFRESH_TOKEN,
    ID_TOKEN_ALG,
    JWKS_PATH,
    MAX_CLIENT_NAME,
    MAX_REDIRECT_URIS,
    REGISTERED_CLIENT_SCOPES,
    REGISTRATION_PATH,
    REVOKE_PATH,
    SCOPE_OPENID,
    SCOPES_SUPPORTED,
    TOKEN_AUTH_METHODS,
    TOKEN_PATH,
    USER_CODE_ALPHABET,
    USERINFO_PATH,
)
from cloud.oauth.models import AuthorizationCode, DeviceGrant, OAuthClient, OAuthToken
from cloud.oauth.registration import client_name_problem, redirect_uri_problem
from cloud.oauth.settings import OAuthSettings
from cloud.oauth.signing_keys import KeyRing
from cloud.security import new_token, token_hash

_LOGGER = logging.getLogger(__name__)


def _load_user(user_id: int | None, auth_time: Any = None) -> EndUser | None:
    if user_id is None:
        return None
    user = bridge().in_request(lambda s: grants.get_user(s, user_id))
    return EndUser.of(user, auth_time) if user else None


class S256CodeChallenge(CodeChallenge):
    """PKCE for every client, S256 only, demanded already at /authorize."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send 'code_challenge' with 'code_challenge_method=S256'.",
                redirect_uri=redirect_uri,
            )
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "Only 'code_challenge_method=S256' is accepted.", redirect_uri=redirect_uri
            )
        super().validate_code_challenge(grant, redirect_uri)


class IdTokens(OpenIDCode):
    """Signs ID tokens with the current key of the ring; claims follow the granted scope."""

    def __init__(self, server: EthosAuthorizationServer) -> None:
        super().__init__(require_nonce=False)
        self.server = server

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        client_id = request.payload.client_id
        return bridge().in_request(lambda s: grants.nonce_was_used(s, client_id, nonce))

    def resolve_client_private_key(self, client: OAuthClient) -> Any:
        return self.server.keys().signing

    def get_client_algorithm(self, client: OAuthClient) -> str:
        return ID_TOKEN_ALG

    def get_encode_header(self, client: OAuthClient) -> dict[str, str]:
        return {"alg": ID_TOKEN_ALG, "kid": str(self.server.keys().signing.kid), "typ": "JWT"}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        return {
            "iss": self.server.issuer,
            "exp": int(time.time()) + self.server.oauth.id_token_seconds,
        }

    def generate_user_info(self, user: EndUser, scope: str) -> UserInfo:
        return UserInfo(user_claims(user.id, user.email, user.email_verified, scope))


class CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_AUTH_METHODS)

    def save_authorization_code(self, code: str, request: AiohttpOAuth2Request) -> None:
        data = request.payload.data
        user: EndUser = request.user
        client: OAuthClient = request.client
        # What this client may hold for this user: the consent screen showed the same.
        scope = grantable_scopes(
            request.scope.split(),
            first_party=client.first_party,
            registrant_id=client.owner_user_id,
            user_id=user.id,
        )
        row = AuthorizationCode(
            code_hash="",
            client_id=client.client_id,
            user_id=user.id,
            redirect_uri=data["redirect_uri"],
            scope=" ".join(scope),
            nonce=data.get("nonce"),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            auth_time=user.auth_time,
            expires_at=utcnow() + timedelta(seconds=AUTHORIZATION_CODE_SECONDS),
        )
        bridge().in_request(lambda s: grants.add_code(s, code, row))

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        found = bridge().in_request(lambda s: grants.find_code(s, code, client.client_id))
        if found.replayed_family:
            # RFC 6749 §4.1.2: a code used twice revokes what it was exchanged for.
            family = found.replayed_family
            _LOGGER.warning("authorization code replayed by %s: tokens revoked", client.client_id)
            bridge().defer(lambda s: grants.revoke_family(s, family))
        return found.code

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        code_hash, family = authorization_code.code_hash, self.request.family_id
        if not bridge().in_request(lambda s: grants.spend_code(s, code_hash, family)):
            raise InvalidGrantError("The code was already used.")

    def authenticate_user(self, authorization_code: AuthorizationCode) -> EndUser | None:
        return _load_user(authorization_code.user_id, authorization_code.auth_time)


class DeviceFlowGrant(DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_AUTH_METHODS)

    def query_device_credential(self, device_code: str) -> DeviceGrant:
        row = bridge().in_request(lambda s: grants.find_device_grant(s, device_code))
        if row is None or row.consumed_at is not None:
            raise InvalidGrantError("Unknown or already used 'device_code'.")
        now, last = utcnow(), row.last_polled_at
        self._too_fast = last is not None and now - last < timedelta(seconds=row.interval)
        if row.approved is None and not row.is_expired():
            code_hash, too_fast = row.device_code_hash, self._too_fast
            # Kept even though the answer is an error: the next poll must see it.
            bridge().defer(lambda s: grants.record_poll(s, code_hash, now, too_fast))
        self._grant_row = row
        return row

    def query_user_grant(self, user_code: str) -> tuple[EndUser | None, bool] | None:
        row = self._grant_row
        if row.approved is None:
            return None
        user = _load_user(row.user_id)
        return (user, bool(row.approved and user))

    def should_slow_down(self, credential: DeviceGrant) -> bool:
        return self._too_fast

    def create_token_response(self) -> Any:
        code_hash = self.request.credential.device_code_hash
        if not bridge().in_request(lambda s: grants.spend_device_grant(s, code_hash)):
            raise InvalidGrantError("The device code was already used.")
        return super().create_token_response()


def _user_code() -> str:
    return f"{generate_token(4, USER_CODE_ALPHABET)}-{generate_token(4, USER_CODE_ALPHABET)}"


class DeviceAuthorization(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_AUTH_METHODS)

    def __init__(self, server: EthosAuthorizationServer) -> None:
        super().__init__(server)
        self.EXPIRES_IN = server.oauth.device_code_seconds
        self.INTERVAL = server.oauth.device_poll_seconds

    def create_endpoint_response(self, request: AiohttpOAuth2Request) -> Any:
        client: OAuthClient = self.authenticate_client(request)
        if not client.check_grant_type(GRANT_DEVICE_CODE):
            raise UnauthorizedClientError("This client may not use the device flow.")
        self.server.validate_requested_scope(request.payload.scope)
        scope = client.get_allowed_scope(request.payload.scope)
        if scope is None:
            raise InvalidScopeError()
        device_code, user_code = new_token(), _user_code()
        verification_uri = self.get_verification_uri()
        row = DeviceGrant(
            device_code_hash="",
            user_code=user_code,
            client_id=client.client_id,
            scope=scope,
            expires_at=utcnow() + timedelta(seconds=self.EXPIRES_IN),
            interval=self.INTERVAL,
        )
        bridge().in_request(lambda s: grants.add_device_grant(s, device_code, row))
        body = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification_uri,
            "verification_uri_complete": add_params_to_uri(
                verification_uri, [("user_code", user_code)]
            ),
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        return 200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]

    def get_verification_uri(self) -> str:
        return str(self.server.issuer) + DEVICE_PAGE_PATH


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_AUTH_METHODS)

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        return bridge().in_request(lambda s: grants.find_any_token(s, token_string))

    def revoke_token(self, token: OAuthToken, request: Any) -> None:
        # The access and refresh tokens of one grant go together (RFC 7009 §2.1 allows it).
        family = token.family_id
        bridge().in_request(lambda s: grants.revoke_family(s, family))


def _check_redirect_uris(uris: Any) -> list[str]:
    if not isinstance(uris, list) or not 1 <= len(uris) <= MAX_REDIRECT_URIS:
        raise InvalidRedirectURIError(f"Give 1 to {MAX_REDIRECT_URIS} redirect URIs.")
    for uri in uris:
        if not isinstance(uri, str):
            raise InvalidRedirectURIError("Each redirect URI must be a string.")
        if problem := redirect_uri_problem(uri):
            raise InvalidRedirectURIError(problem)
    return uris


def _check_client_name(name: Any) -> str:
    if name is None:
        return DEFAULT_REGISTERED_NAME
    if not isinstance(name, str) or len(name) > MAX_CLIENT_NAME:
        raise InvalidClientMetadataError(f"'client_name' is text of at most {MAX_CLIENT_NAME}.")
    if problem := client_name_problem(name):
        raise InvalidClientMetadataError(problem)
    return name.strip()


class Registration(ClientRegistrationEndpoint):
    """RFC 7591, allowed to holders of an onboarding token with the `hub.register` scope."""

    def __init__(self, server: EthosAuthorizationServer) -> None:
        super().__init__(server)

    def get_server_metadata(self) -> dict[str, Any]:
        return {
            "scopes_supported": list(REGISTERED_CLIENT_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN],
            "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        }

    def authenticate_token(self, request: AiohttpJsonRequest) -> Any:
        return request.principal

    def resolve_public_key(self, request: Any) -> None:
        return None  # software statements are not accepted

    def create_registration_response(self, request: AiohttpJsonRequest) -> Any:
        status, body, headers = super().create_registration_response(request)
        return status, {key: value for key, value in body.items() if value is not None}, headers

    def generate_client_id(self, request: AiohttpJsonRequest) -> str:
        # 32 lowercase hex: a hub's client id also names its remote home (REMOTE.md).
        return secrets.token_hex(16)

    def generate_client_info(self, request: AiohttpJsonRequest) -> dict[str, Any]:
        info: dict[str, Any] = super().generate_client_info(request)
        method = request.payload.data.get("token_endpoint_auth_method", AUTH_SECRET_BASIC)
        if method == "none":
            info["client_secret"] = None
            info.pop("client_secret_expires_at", None)
        return info

    def extract_client_metadata(self, request: AiohttpJsonRequest) -> dict[str, Any]:
        # RFC 7591 §3.2.2 names redirect URI problems `invalid_redirect_uri`: check first.
        _check_redirect_uris(request.payload.data.get("redirect_uris"))
        _check_client_name(request.payload.data.get("client_name"))
        metadata: dict[str, Any] = super().extract_client_metadata(request)
        return metadata

    def save_client(
        self, client_info: dict[str, Any], client_metadata: dict[str, Any], request: Any
    ) -> OAuthClient:
        redirect_uris = _check_redirect_uris(client_metadata.get("redirect_uris"))
        grant_types = client_metadata.get("grant_types") or [GRANT_AUTHORIZATION_CODE]
        if GRANT_AUTHORIZATION_CODE not in grant_types:
            raise InvalidClientMetadataError("'grant_types' must include 'authorization_code'.")
        scope = client_metadata.get("scope") or " ".join(REGISTERED_CLIENT_SCOPES)
        if SCOPE_OPENID not in scope.split():
            scope = f"{SCOPE_OPENID} {scope}"
        name = _check_client_name(client_metadata.get("client_name"))
        secret = client_info.get("client_secret")
        row = OAuthClient(
            client_id=client_info["client_id"],
            client_secret_hash=token_hash(secret) if secret else None,
            name=name,
            redirect_uris="\n".join(redirect_uris),
            grant_types=" ".join(grant_types),
            scope=scope,
            token_endpoint_auth_method=client_metadata.get(
                "token_endpoint_auth_method", AUTH_SECRET_BASIC
            ),
            first_party=False,
            owner_user_id=request.principal.user_id,
        )
        bridge().in_request(lambda s: _add(s, row))
        _LOGGER.info("client %s registered by user %s", row.client_id, row.owner_user_id)
        return row


async def _add(session: Any, row: Any) -> None:
    session.add(row)
    await session.flush()


class EthosAuthorizationServer(AuthorizationServer):
    """The provider. `keys` returns the current key ring (it is reloaded in the background)."""

    def __init__(self, issuer: str, oauth: OAuthSettings, keys: Callable[[], KeyRing]) -> None:
        super().__init__(scopes_supported=list(SCOPES_SUPPORTED))
        self.issuer = issuer
        self.oauth = oauth
        self.keys = keys
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: new_token(),
                refresh_token_generator=lambda **_: new_token(),
                expires_generator=lambda client, grant_type: oauth.access_token_seconds,
            ),
        )
        self.register_grant(CodeGrant, [S256CodeChallenge(required=True), IdTokens(self)])
        self.register_grant(DeviceFlowGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(DeviceAuthorization(self))
        self.register_endpoint(Registration(self))

    def query_client(self, client_id: str) -> OAuthClient | None:
        return bridge().in_request(lambda s: grants.get_client(s, client_id))

    def save_token(self, token: dict[str, Any], request: AiohttpOAuth2Request) -> None:
        # Codes and device grants start a family; refreshes are cloud/oauth/refresh.py's.
        family = grants.new_family_id()
        request.family_id = family
        now, refresh = utcnow(), token.get("refresh_token")
        row = OAuthToken(
            family_id=family,
            client_id=request.client.client_id,
            user_id=request.user.id,
            scope=token.get("scope", ""),
            access_token_hash=token_hash(token["access_token"]),
            refresh_token_hash=token_hash(refresh) if refresh else None,
            issued_at=now,
            access_expires_at=now + timedelta(seconds=token["expires_in"]),
            refresh_expires_at=(
                now + timedelta(days=self.oauth.refresh_token_days) if refresh else None
            ),
        )
        bridge().in_request(lambda s: grants.add_token(s, row))

    def create_oauth2_request(self, request: Any) -> Any:
        return request  # already an AiohttpOAuth2Request, built on the event loop

    def create_json_request(self, request: Any) -> Any:
        return request

    def handle_response(self, status: int, body: Any, headers: Any) -> OAuthResponse:
        return OAuthResponse(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None

    def metadata(self) -> dict[str, Any]:
        """The discovery document (OpenID Connect Discovery 1.0, RFC 8414)."""
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "userinfo_endpoint": base + USERINFO_PATH,
            "jwks_uri": base + JWKS_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "device_authorization_endpoint": base + DEVICE_AUTHORIZATION_PATH,
            "registration_endpoint": base + REGISTRATION_PATH,
            "scopes_supported": list(SCOPES_SUPPORTED),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": [
                GRANT_AUTHORIZATION_CODE,
                GRANT_REFRESH_TOKEN,
                GRANT_DEVICE_CODE,
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
            "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "email",
                "email_verified",
                "preferred_username",
            ],
        }
