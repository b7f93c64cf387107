"""A tiny OpenID provider for the hub's sign-in tests: code flow, PKCE S256, ES256 ID tokens.

It stands in for the store's provider (built elsewhere) and can be told to misbehave.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey


@dataclass
class ProviderState:
    client_id: str
    issuer: str = ""
    subject: str = "alice-sub"
    name: str = "Alice"
    email_verified: bool = True
    tamper: str | None = None  # "nonce", "aud", "expired", "signature"
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    key: ECKey = field(
        default_factory=lambda: ECKey.generate_key("P-256", parameters={"kid": "k1"})
    )
    token_requests: list[dict[str, str]] = field(default_factory=list)


STATE_KEY = web.AppKey("provider", ProviderState)


async def discovery(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    return web.json_response(
        {
            "issuer": state.issuer,
            "authorization_endpoint": f"{state.issuer}/oauth/authorize",
            "token_endpoint": f"{state.issuer}/oauth/token",
            "jwks_uri": f"{state.issuer}/oauth/jwks",
            "code_challenge_methods_supported": ["S256"],
        }
    )


async def authorize(request: web.Request) -> web.Response:
    state, query = request.app[STATE_KEY], request.query
    if query.get("client_id") != state.client_id or query.get("code_challenge_method") != "S256":
        return web.Response(status=400, text="bad client or no PKCE")
    code = secrets.token_urlsafe(16)
    state.codes[code] = {
        "challenge": query["code_challenge"],
        "nonce": query.get("nonce"),
        "redirect_uri": query["redirect_uri"],
    }
    target = query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
    raise web.HTTPFound(target)


async def token(request: web.Request) -> web.Response:
    state, form = request.app[STATE_KEY], await request.post()
    state.token_requests.append(dict(form))
    grant = state.codes.pop(str(form.get("code")), None)
    verifier = str(form.get("code_verifier", ""))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    if (
        grant is None
        or form.get("client_id") != state.client_id
        or form.get("redirect_uri") != grant["redirect_uri"]
        or challenge.decode() != grant["challenge"]
    ):
        return web.json_response({"error": "invalid_grant"}, status=400)
    now = int(time.time())
    claims = {
        "iss": state.issuer,
        "aud": "someone-else" if state.tamper == "aud" else state.client_id,
        "sub": state.subject,
        "email": f"{state.subject}@example.test",
        "email_verified": state.email_verified,
        "name": state.name,
        "iat": now,
        "exp": now - 60 if state.tamper == "expired" else now + 300,
        "nonce": "replayed" if state.tamper == "nonce" else grant["nonce"],
    }
    signing_key = state.key
    if state.tamper == "signature":
        signing_key = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    id_token = jwt.encode({"alg": "ES256", "kid": "k1"}, claims, signing_key)
    return web.json_response({"access_token": "at", "token_type": "Bearer", "id_token": id_token})


async def jwks(request: web.Request) -> web.Response:
    return web.json_response({"keys": [request.app[STATE_KEY].key.as_dict(private=False)]})


def create_provider(client_id: str) -> web.Application:
    app = web.Application()
    app[STATE_KEY] = ProviderState(client_id)
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/oauth/authorize", authorize)
    app.router.add_post("/oauth/token", token)
    app.router.add_get("/oauth/jwks", jwks)
    return app
