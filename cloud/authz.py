"""The Authorizer: the one place that decides whether a principal may act on a resource.

Handlers ask ``authorize(request, action, resource)``; they never compare owner ids
themselves. A principal comes from the browser session (all scopes) or, once the OIDC
provider is mounted, from a bearer access token (only its scopes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from cloud.domain import Refusal
from cloud.web.auth import current_user

SESSION_SCOPES = None  # a browser session may do everything its user may do


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    scopes: frozenset[str] | None  # None: a first-party browser session
    client_id: str | None = None

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


@dataclass(frozen=True)
class Rule:
    """An action: the scope a token needs, and whether the resource must be the principal's."""

    scope: str | None
    owner_only: bool = True


RULES: dict[str, Rule] = {
    "account.read": Rule(scope="profile"),
    "devices.read": Rule(scope="devices"),
    "orders.read": Rule(scope=None),
    "orders.pay": Rule(scope=None),
    "recommendations.read": Rule(scope="profile"),
    "oauth.userinfo": Rule(scope="openid"),
}

# Set by the OIDC area: turns a bearer token into a principal (or None when invalid).
BearerResolver = Callable[[web.Request, str], Awaitable[Principal | None]]
BEARER_RESOLVER: web.AppKey[BearerResolver] = web.AppKey("bearer_resolver")

_PRINCIPAL = web.RequestKey("ethos_principal", object)

NOT_SIGNED_IN = Refusal("not_signed_in", "Sign in first.", 401)


def decide(principal: Principal | None, action: str, owner_id: int | None = None) -> Refusal | None:
    """Side-effect free: None when allowed, else the reason (CanExecute)."""
    rule = RULES.get(action)
    if rule is None:
        return Refusal("unknown_action", f"{action} is not an action", 403)
    if principal is None:
        return NOT_SIGNED_IN
    if rule.scope and not principal.has_scope(rule.scope):
        return Refusal("insufficient_scope", f"This needs the '{rule.scope}' scope.", 403)
    if rule.owner_only and owner_id is not None and owner_id != principal.user_id:
        return Refusal("not_owner", "That belongs to another account.", 404)
    return None


async def resolve_principal(request: web.Request) -> Principal | None:
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]  # type: ignore[return-value]
    principal: Principal | None = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        resolver = request.app.get(BEARER_RESOLVER)
        principal = await resolver(request, header[7:].strip()) if resolver else None
        if principal is None:
            raise web.HTTPUnauthorized(
                text="The access token is not valid.",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
    else:
        user = await current_user(request)
        if user is not None and user.id is not None:
            principal = Principal(user.id, user.email, SESSION_SCOPES)
    request[_PRINCIPAL] = principal
    return principal


async def authorize(request: web.Request, action: str, owner_id: int | None = None) -> Principal:
    """Resolve the principal and apply the rule, raising the matching HTTP error."""
    principal = await resolve_principal(request)
    refusal = decide(principal, action, owner_id)
    if refusal is None:
        assert principal is not None
        return principal
    errors: dict[int, Any] = {
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="ethos"'} if refusal.status == 401 else None
    raise errors.get(refusal.status, web.HTTPForbidden)(text=refusal.message, headers=headers)
