"""A small reference OpenID Connect relying party, as the hub uses the Ethos cloud.

Two parts, reusable by any test that needs an account signed in through OIDC:

* :class:`OidcClient` is the relying party (the hub's side): discovery, authorization code
  with PKCE S256 through Authlib's httpx client, ID-token verification with joserfc
  against the published JWKS, refresh, userinfo, revocation, the device flow
  (RFC 8628) and dynamic client registration (RFC 7591).
* :class:`StoreBrowser` plays the person in a browser at the store: signs in, answers the
  consent screen, approves a device code. It only uses the store's public pages.

Nothing here knows the cloud's internals; it talks HTTP to a base URL.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
ID_TOKEN_ALGORITHMS = ["RS256"]  # never "none", never HMAC with a public key


class OidcError(Exception):
    """The provider answered with an OAuth error (`error`, `description`, HTTP status)."""

    def __init__(self, status: int, error: str, description: str = "") -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


class IdTokenError(Exception):
    """An ID token that must not be trusted (bad signature, issuer, audience, nonce...)."""


@dataclass
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass
class DeviceAuthorization:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    scope: str
    expires_in: int
    id_token: str | None = None
    id_claims: dict[str, Any] = field(default_factory=dict)


def _tokens(body: Mapping[str, Any], id_claims: dict[str, Any] | None = None) -> Tokens:
    return Tokens(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token"),
        scope=body.get("scope", ""),
        expires_in=int(body.get("expires_in", 0)),
        id_token=body.get("id_token"),
        id_claims=id_claims or {},
    )


def _raise_for_oauth_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 400 or "error" in body:
        raise OidcError(
            response.status_code, body.get("error", "http_error"), body.get("error_description", "")
        )
    return body


class OidcClient:
    """The relying party. `http` is shared (connection reuse); the caller closes it."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        http: httpx.AsyncClient,
        *,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        token_endpoint_auth_method: str = "none",  # noqa: S107 (a method name)
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.auth_method = token_endpoint_auth_method
        self.http = http
        self.metadata: dict[str, Any] = {}
        self._jwks: KeySet | None = None

    async def discover(self) -> dict[str, Any]:
        response = await self.http.get(self.issuer + "/.well-known/openid-configuration")
        response.raise_for_status()
        self.metadata = response.json()
        if self.metadata["issuer"] != self.issuer:
            raise OidcError(200, "issuer_mismatch", self.metadata["issuer"])
        return self.metadata

    async def _endpoint(self, name: str) -> str:
        if not self.metadata:
            await self.discover()
        return str(self.metadata[name])

    async def jwks(self, refresh: bool = False) -> KeySet:
        if self._jwks is None or refresh:
            response = await self.http.get(await self._endpoint("jwks_uri"))
            response.raise_for_status()
            self._jwks = KeySet.import_key_set(response.json())
        return self._jwks

    def _oauth(self, **extra: Any) -> AsyncOAuth2Client:
        client = AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=self.auth_method,
            **extra,
        )
        return client

    # Authorization code + PKCE

    async def authorization_request(self, scope: str) -> AuthorizationRequest:
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(16)
        async with self._oauth(scope=scope) as oauth:
            url, state = oauth.create_authorization_url(
                await self._endpoint("authorization_endpoint"), code_verifier=verifier, nonce=nonce
            )
        return AuthorizationRequest(url, state, nonce, verifier)

    async def exchange_code(self, callback_url: str, request: AuthorizationRequest) -> Tokens:
        """Redeem the code from the redirect; verifies state, then the ID token."""
        params = parse_qs(urlsplit(callback_url).query)
        if "error" in params:
            raise OidcError(302, params["error"][0], params.get("error_description", [""])[0])
        async with self._oauth(state=request.state) as oauth:
            try:
                body = await oauth.fetch_token(
                    await self._endpoint("token_endpoint"),
                    authorization_response=callback_url,
                    code_verifier=request.code_verifier,
                )
            except Exception as err:  # Authlib raises OAuthError with .error/.description
                raise OidcError(400, getattr(err, "error", "error"), str(err)) from err
        claims = (
            await self.verify_id_token(body["id_token"], request.nonce)
            if "id_token" in body
            else None
        )
        return _tokens(body, claims)

    async def token_request(self, data: dict[str, str]) -> dict[str, Any]:
        """A raw token-endpoint call with this client's authentication."""
        form = dict(data)
        auth: tuple[str, str] | None = None
        if self.auth_method == "client_secret_basic" and self.client_secret:
            auth = (self.client_id, self.client_secret)
        else:
            form["client_id"] = self.client_id
            if self.auth_method == "client_secret_post" and self.client_secret:
                form["client_secret"] = self.client_secret
        response = await self.http.post(
            await self._endpoint("token_endpoint"), data=form, auth=auth or httpx.USE_CLIENT_DEFAULT
        )
        return _raise_for_oauth_error(response)

    async def refresh(self, refresh_token: str, scope: str | None = None) -> Tokens:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope:
            data["scope"] = scope
        return _tokens(await self.token_request(data))

    async def verify_id_token(self, id_token: str, nonce: str | None = None) -> dict[str, Any]:
        """Signature against the published JWKS (fetched again once for an unknown key id),
        then issuer, audience, expiry and nonce."""
        for attempt in (0, 1):
            try:
                token = jwt.decode(
                    id_token, await self.jwks(refresh=attempt == 1), ID_TOKEN_ALGORITHMS
                )
                break
            except (JoseError, ValueError) as err:
                if attempt == 1:
                    raise IdTokenError(f"ID token refused: {err}") from err
        registry = JWTClaimsRegistry(
            iss={"essential": True, "value": self.issuer},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
        )
        try:
            registry.validate(token.claims)
        except JoseError as err:
            raise IdTokenError(f"ID token claims refused: {err}") from err
        audience = token.claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.client_id not in audiences:
            raise IdTokenError("ID token is for another client")
        if nonce is not None and token.claims.get("nonce") != nonce:
            raise IdTokenError("ID token nonce does not match the request")
        return dict(token.claims)

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        response = await self.http.get(
            await self._endpoint("userinfo_endpoint"),
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return _raise_for_oauth_error(response)

    async def revoke(self, token: str) -> None:
        form = {"token": token, "client_id": self.client_id}
        auth: Any = httpx.USE_CLIENT_DEFAULT
        if self.auth_method == "client_secret_basic" and self.client_secret:
            form.pop("client_id")
            auth = (self.client_id, self.client_secret)
        response = await self.http.post(
            await self._endpoint("revocation_endpoint"), data=form, auth=auth
        )
        _raise_for_oauth_error(response)

    # Device authorization grant (RFC 8628)

    async def start_device_flow(self, scope: str) -> DeviceAuthorization:
        response = await self.http.post(
            await self._endpoint("device_authorization_endpoint"),
            data={"client_id": self.client_id, "scope": scope},
        )
        body = _raise_for_oauth_error(response)
        return DeviceAuthorization(
            body["device_code"],
            body["user_code"],
            body["verification_uri"],
            body["verification_uri_complete"],
            int(body["expires_in"]),
            int(body["interval"]),
        )

    async def poll_device_token(
        self, device: DeviceAuthorization, *, interval: float | None = None, max_polls: int = 50
    ) -> Tokens:
        """Poll as RFC 8628 §3.5 says: wait the interval, add 5 s on `slow_down`.

        `interval` overrides the wait (tests use a short one and expect `slow_down`).
        """
        wait = device.interval if interval is None else interval
        for _ in range(max_polls):
            await asyncio.sleep(wait)
            try:
                return _tokens(
                    await self.token_request(
                        {"grant_type": DEVICE_GRANT, "device_code": device.device_code}
                    )
                )
            except OidcError as err:
                if err.error == "authorization_pending":
                    continue
                if err.error == "slow_down":
                    wait += 5 if interval is None else interval
                    continue
                raise
        raise OidcError(0, "gave_up", "no decision after polling")

    # Dynamic client registration (RFC 7591)

    async def register(self, initial_access_token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(
            await self._endpoint("registration_endpoint"),
            json=metadata,
            headers={"Authorization": f"Bearer {initial_access_token}"},
        )
        body = _raise_for_oauth_error(response)
        if response.status_code != 201:
            raise OidcError(response.status_code, "unexpected_status", str(body))
        return body


class StoreBrowser:
    """A person's browser at the store: cookies, forms with their CSRF tokens, redirects."""

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.base_url, transport=transport, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _csrf(self, path: str) -> str:
        page = await self.http.get(path)
        match = CSRF_RE.search(page.text)
        if not match:
            raise AssertionError(f"no form on {path} ({page.status_code})")
        return match.group(1)

    async def confirm(self, link: str, password: str) -> None:
        """Open a mailed confirmation link (its path) and confirm with the sign-up's password."""
        token = await self._csrf(link)
        response = await self.http.post(
            "/account/confirm",
            data={
                "token": parse_qs(urlsplit(link).query)["token"][0],
                "password": password,
                "csrf_token": token,
            },
        )
        if response.status_code != 303:
            raise AssertionError(f"confirmation refused: {response.status_code}")

    async def sign_in(self, email: str, password: str) -> None:
        token = await self._csrf("/account/login")
        response = await self.http.post(
            "/account/login",
            data={"email": email, "password": password, "csrf_token": token, "next": "/account"},
        )
        if response.status_code != 303:
            raise AssertionError(f"sign-in refused: {response.status_code}")

    async def follow_until(self, url: str, redirect_uri: str) -> httpx.Response | str:
        """Follow redirects within the store; stop at the client's redirect URI (returned
        as a string) or at a page to act on (returned as the response)."""
        for _ in range(10):
            response = await self.http.get(url)
            location = response.headers.get("location")
            if response.status_code not in (302, 303) or location is None:
                return response
            url = urljoin(str(response.url), location)
            if url.startswith(redirect_uri):
                return url
        raise AssertionError("too many redirects")

    async def authorize(
        self, authorization_url: str, redirect_uri: str, consent: str | None = "allow"
    ) -> str:
        """Open the authorization URL signed in; answer the consent screen if it shows."""
        result = await self.follow_until(authorization_url, redirect_uri)
        if isinstance(result, str):
            return result
        if 'name="decision"' not in result.text or consent is None:
            raise AssertionError(
                f"no redirect to the client: {result.status_code} {result.text[:300]}"
            )
        token = CSRF_RE.search(result.text)
        assert token, "consent page without CSRF token"
        response = await self.http.post(
            str(result.url), data={"decision": consent, "csrf_token": token.group(1)}
        )
        location = response.headers.get("location", "")
        if response.status_code != 302 or not location.startswith(redirect_uri):
            raise AssertionError(f"consent did not redirect: {response.status_code}")
        return location

    async def decide_device(self, user_code: str, approve: bool = True) -> httpx.Response:
        token = await self._csrf(f"/device?user_code={user_code}")
        return await self.http.post(
            "/device",
            data={
                "user_code": user_code,
                "decision": "approve" if approve else "deny",
                "csrf_token": token,
            },
        )
