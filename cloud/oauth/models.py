"""OAuth tables: clients, authorization codes, tokens, device grants, consents, signing keys.

Secrets (client secrets, codes, access and refresh tokens, device codes) are stored as
SHA-256 hashes only; a database dump does not hand out working credentials.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from cloud.db import UTCDateTime, utcnow
from cloud.oauth.const import AUTH_NONE, SCOPE_OPENID
from cloud.oauth.registration import redirect_uri_problem
from cloud.security import token_hash


class OAuthClient(SQLModel, table=True):
    """A registered client: first-party (store-configured) or a hub that registered itself."""

    __tablename__ = "oauth_clients"

    client_id: str = Field(primary_key=True, max_length=64)
    client_secret_hash: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=100)
    redirect_uris: str = Field(default="", sa_column=Column(Text, nullable=False))  # one a line
    grant_types: str = Field(max_length=200)  # space-separated
    scope: str = Field(max_length=200)  # the most it may ask for, space-separated
    token_endpoint_auth_method: str = Field(max_length=32)
    first_party: bool = Field(default=False)
    owner_user_id: int | None = Field(
        default=None, foreign_key="users.id", index=True, ondelete="CASCADE"
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    # What Authlib asks of a client (its ClientMixin protocol).
    @property
    def redirect_uri_list(self) -> list[str]:
        return [uri for uri in self.redirect_uris.splitlines() if uri]

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == AUTH_NONE

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Never guess: the request must name its redirect URI, and it must match exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scope if the client may ask for all of it, else None (refused)."""
        allowed = set(self.scope.split())
        wanted = (scope or SCOPE_OPENID).split()
        if not set(wanted) <= allowed:
            return None
        return " ".join(dict.fromkeys(wanted))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        if redirect_uri not in self.redirect_uri_list:
            return False
        # A client registered before today's rules (say, to a public http address) is
        # held to them too: it cannot send anyone there any more.
        return self.first_party or redirect_uri_problem(redirect_uri) is None

    def check_client_secret(self, client_secret: str) -> bool:
        if self.client_secret_hash is None:
            return False
        return hmac.compare_digest(self.client_secret_hash, token_hash(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and self.check_grant_type("authorization_code")

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types.split()


class AuthorizationCode(SQLModel, table=True):
    __tablename__ = "oauth_codes"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(max_length=64, foreign_key="oauth_clients.client_id", ondelete="CASCADE")
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    redirect_uri: str = Field(sa_column=Column(Text, nullable=False))
    scope: str = Field(max_length=200)
    nonce: str | None = Field(default=None, max_length=255)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    auth_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The token family issued from this code, revoked if the code is replayed.
    family_id: str | None = Field(default=None, max_length=32)

    # Authlib's AuthorizationCodeMixin and the OpenID additions.
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return int(self.auth_time.timestamp())

    def get_acr(self) -> str | None:
        return None

    def get_amr(self) -> list[str] | None:
        return None


class OAuthToken(SQLModel, table=True):
    """One issuance: an access token and (optionally) its refresh token.

    Every refresh makes a new row in the same family; the old row is marked rotated. A
    rotated refresh token that comes back is a replay: the whole family is revoked.
    """

    __tablename__ = "oauth_tokens"

    id: int | None = Field(default=None, primary_key=True)
    family_id: str = Field(max_length=32, index=True)
    client_id: str = Field(
        max_length=64, foreign_key="oauth_clients.client_id", index=True, ondelete="CASCADE"
    )
    user_id: int = Field(foreign_key="users.id", index=True, ondelete="CASCADE")
    scope: str = Field(max_length=200)
    access_token_hash: str = Field(max_length=64, unique=True)
    refresh_token_hash: str | None = Field(default=None, max_length=64, unique=True)
    issued_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    access_expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    refresh_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    rotated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    # Authlib's TokenMixin, as far as refresh and revocation read it.
    def check_client(self, client: OAuthClient) -> bool:
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        return self.scope


class DeviceGrant(SQLModel, table=True):
    """An RFC 8628 device authorization waiting for, or carrying, the owner's decision."""

    __tablename__ = "oauth_device_grants"

    device_code_hash: str = Field(primary_key=True, max_length=64)
    user_code: str = Field(max_length=16, unique=True)
    client_id: str = Field(max_length=64, foreign_key="oauth_clients.client_id", ondelete="CASCADE")
    scope: str = Field(max_length=200)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    interval: int = Field(default=5)
    last_polled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    user_id: int | None = Field(default=None, foreign_key="users.id", ondelete="CASCADE")
    approved: bool | None = Field(default=None)
    consumed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))

    # Authlib's DeviceCredentialMixin.
    def get_client_id(self) -> str:
        return self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_user_code(self) -> str:
        return self.user_code

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()


class Consent(SQLModel, table=True):
    """Scopes a user granted to a third-party client, so the screen is not shown every time."""

    __tablename__ = "oauth_consents"

    user_id: int = Field(primary_key=True, foreign_key="users.id", ondelete="CASCADE")
    client_id: str = Field(
        primary_key=True, max_length=64, foreign_key="oauth_clients.client_id", ondelete="CASCADE"
    )
    scope: str = Field(max_length=200)
    granted_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class SigningKey(SQLModel, table=True):
    """An ID-token signing key. Retired keys stay published until their tokens expire."""

    __tablename__ = "oauth_signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    sealed_jwk: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    retired_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
