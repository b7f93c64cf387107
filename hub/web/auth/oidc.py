"""OpenID Connect relying party: discovery, PKCE S256, state and nonce, code exchange,
and ID token verification against the provider's JWKS (joserfc).

It speaks to the provider through the hub's one OAuth client (``hub.helpers.oauth_client``),
whose discovery document the store link shares."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import aiohttp

from hub.helpers.oauth_client import (
    DISCOVERY_PATH,
    OAuthProvider,
    ProviderAnswerInvalid,
    ProviderUnreachable,
    refresh_form,
)
from hub.web.auth.const import (
    ID_TOKEN_ALGORITHMS,
    MAX_PENDING_LOGINS,
    MAX_PENDING_LOGINS_PER_CLIENT,
    OIDC_SCOPES,
    OIDC_TIMEOUT_S,
    PENDING_LOGIN_TTL_S,
)

if TYPE_CHECKING:
    from joserfc.jwk import KeySet

_LOGGER = logging.getLogger(__name__)
__all__ = ["GrantRevoked", "OidcRelyingParty", "ProviderUnreachable", "SignInFailed"]


class SignInFailed(Exception):
    """The provider answered, but the sign-in cannot be accepted; message is user-facing."""


class GrantRevoked(Exception):
    """The store refused a person's refresh token: their access to the hub was taken back."""


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str
    next_path: str
    created: float
    client: str = ""  # the browser's address: each address has its own share of the bound
    invite: str | None = None  # an invitation link's token, spent only if the sign-in works


@dataclass(frozen=True)
class VerifiedIdentity:
    subject: str
    email: str | None
    name: str | None
    claims: dict[str, Any]

    @property
    def email_verified(self) -> bool:
        return self.claims.get("email_verified") is True


@dataclass(frozen=True)
class CompletedSignIn:
    identity: VerifiedIdentity
    refresh_token: str | None  # kept (sealed) to learn when the store takes access back


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcRelyingParty:
    """The hub as an OAuth client of the store: PKCE always, a client secret once it has one."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        issuer_url: str,
        client_id: str,
        redirect_uri: str,
        client_secret: str | None = None,
        provider: OAuthProvider | None = None,
    ) -> None:
        # The hub's one OAuth client; the store link speaks through it too.
        self.provider = provider or OAuthProvider(session, issuer_url)
        self.issuer_url = issuer_url.rstrip("/")
        self.set_client(client_id, redirect_uri, client_secret)
        self._jwks: KeySet | None = None
        self._pending: dict[str, PendingLogin] = {}

    def set_client(
        self, client_id: str, redirect_uri: str, client_secret: str | None = None
    ) -> None:
        """Use these client credentials from now on (a hub that registered itself at the
        store gets a client id and secret; until then it is a public client with PKCE)."""
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self._client_secret = client_secret

    def _client_auth_headers(self) -> dict[str, str]:
        if not self._client_secret:
            return {}
        # client_secret_basic: both parts form-encoded first (RFC 6749, section 2.3.1).
        pair = f"{quote(self.client_id, safe='')}:{quote(self._client_secret, safe='')}"
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}

    async def _async_get_json(self, url: str) -> dict[str, Any]:
        try:
            status, data, _ = await self.provider.async_request("GET", url, timeout=OIDC_TIMEOUT_S)
        except ProviderAnswerInvalid as err:
            raise SignInFailed("the store sent invalid JSON") from err
        if status != 200:
            raise SignInFailed(f"the store answered {status} for {url}")
        if not isinstance(data, dict):
            raise SignInFailed("the store sent an unexpected document")
        return data

    async def async_metadata(self, refresh: bool = False) -> ProviderMetadata:
        try:
            status, data = await self.provider.async_discovery(
                refresh=refresh, timeout=OIDC_TIMEOUT_S
            )
        except ProviderAnswerInvalid as err:
            raise SignInFailed("the store sent invalid JSON") from err
        if data is None:
            if status == 200:
                raise SignInFailed("the store sent an unexpected document")
            raise SignInFailed(f"the store answered {status} for {self.issuer_url}{DISCOVERY_PATH}")
        try:
            return self._checked_metadata(data)
        except SignInFailed:
            self.provider.forget_discovery()  # not kept: fetched again next time
            raise

    def _checked_metadata(self, data: dict[str, Any]) -> ProviderMetadata:
        try:
            metadata = ProviderMetadata(
                issuer=str(data["issuer"]),
                authorization_endpoint=str(data["authorization_endpoint"]),
                token_endpoint=str(data["token_endpoint"]),
                jwks_uri=str(data["jwks_uri"]),
            )
        except KeyError as err:
            raise SignInFailed(f"provider metadata lacks {err}") from err
        if metadata.issuer.rstrip("/") != self.issuer_url:
            raise SignInFailed("provider issuer does not match ETHOS_CLOUD_URL")
        methods = data.get("code_challenge_methods_supported")
        if methods is not None and "S256" not in methods:
            raise SignInFailed("provider does not support PKCE S256")
        return metadata

    def _make_room(self, client: str) -> None:
        """Drop stale logins; then, when full, the oldest of this client (or of the client
        holding the most): one address cannot push out the sign-ins of the others."""
        cutoff = time.monotonic() - PENDING_LOGIN_TTL_S
        for state in [s for s, p in self._pending.items() if p.created < cutoff]:
            del self._pending[state]
        by_client: dict[str, list[str]] = {}
        for state, pending in self._pending.items():  # oldest first (insertion order)
            by_client.setdefault(pending.client, []).append(state)
        own = by_client.get(client, [])
        while len(own) >= MAX_PENDING_LOGINS_PER_CLIENT:
            del self._pending[own.pop(0)]
        while len(self._pending) >= MAX_PENDING_LOGINS:
            biggest = max(by_client.values(), key=len)
            del self._pending[biggest.pop(0)]

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    async def async_begin(
        self, next_path: str = "/", *, client: str = "", invite: str | None = None
    ) -> tuple[str, PendingLogin]:
        """Return the authorization URL to send the browser to, and the pending login."""
        # Fetched anew: this is also how the hub learns whether the store is reachable.
        metadata = await self.async_metadata(refresh=True)
        self._make_room(client)
        pending = PendingLogin(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(64),
            next_path=next_path,
            created=time.monotonic(),
            client=client,
            invite=invite,
        )
        self._pending[pending.state] = pending
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": OIDC_SCOPES,
                "state": pending.state,
                "nonce": pending.nonce,
                "code_challenge": pkce_challenge(pending.code_verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in metadata.authorization_endpoint else "?"
        return f"{metadata.authorization_endpoint}{separator}{query}", pending

    def take_pending(self, state: str | None, browser_state: str | None) -> PendingLogin:
        """The login this callback belongs to; it must come back to the browser that began it."""
        if not state or not browser_state or not hmac.compare_digest(state, browser_state):
            raise SignInFailed("this sign-in was not started in this browser; please try again")
        pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.created > PENDING_LOGIN_TTL_S:
            raise SignInFailed("the sign-in took too long or was already used; please try again")
        return pending

    async def _async_token_request(self, form: dict[str, str]) -> tuple[int, Any]:
        metadata = await self.async_metadata()
        try:
            return await self.provider.async_token_request(
                metadata.token_endpoint,
                form,
                headers=self._client_auth_headers(),
                timeout=OIDC_TIMEOUT_S,
            )
        except ProviderAnswerInvalid as err:
            raise SignInFailed("the store sent invalid JSON") from err

    async def async_finish(self, pending: PendingLogin, code: str) -> CompletedSignIn:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": pending.code_verifier,
        }
        status, body = await self._async_token_request(form)
        if status != 200 or not isinstance(body, dict) or "id_token" not in body:
            error = body.get("error") if isinstance(body, dict) else None
            raise SignInFailed(f"the store refused the sign-in ({error or status})")
        identity = await self.async_verify_id_token(str(body["id_token"]), pending.nonce)
        refresh = body.get("refresh_token")
        return CompletedSignIn(identity, refresh if isinstance(refresh, str) else None)

    async def async_refresh(self, refresh_token: str) -> str | None:
        """Spend a person's refresh token; the store's new one (None: it sent none).

        Raises ``GrantRevoked`` when the store refuses it (revoked, expired, reused),
        ``ProviderUnreachable`` when it cannot say, ``SignInFailed`` on nonsense."""
        status, body = await self._async_token_request(refresh_form(self.client_id, refresh_token))
        if status in (400, 401) and isinstance(body, dict) and isinstance(body.get("error"), str):
            raise GrantRevoked(str(body["error"]))
        if status != 200 or not isinstance(body, dict):
            raise SignInFailed(f"the store answered {status} to a token refresh")
        new = body.get("refresh_token")
        return new if isinstance(new, str) else None

    async def _async_keys(self, refresh: bool = False) -> KeySet:
        # joserfc (and cryptography) load on the first sign-in, not at hub start.
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        if self._jwks is None or refresh:
            metadata = await self.async_metadata()
            data = await self._async_get_json(metadata.jwks_uri)
            try:
                self._jwks = KeySet.import_key_set(data)  # type: ignore[arg-type]
            except (JoseError, ValueError, KeyError, TypeError) as err:
                raise SignInFailed("the store's signing keys are unusable") from err
        return self._jwks

    async def async_verify_id_token(self, id_token: str, nonce: str) -> VerifiedIdentity:
        from joserfc import jwt
        from joserfc.errors import JoseError

        metadata = await self.async_metadata()
        keys = await self._async_keys()
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
            except (JoseError, ValueError) as first:
                # A rotated key: fetch the key set once more before refusing.
                _LOGGER.debug("ID token not verified with cached keys: %s", first)
                keys = await self._async_keys(refresh=True)
                token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": metadata.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as err:
            raise SignInFailed(f"the store's ID token was not valid ({err})") from err
        claims = dict(token.claims)
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise SignInFailed("the ID token was issued to another client")
        return VerifiedIdentity(
            subject=str(claims["sub"]),
            email=claims.get("email"),
            name=claims.get("name") or claims.get("preferred_username"),
            claims=claims,
        )
