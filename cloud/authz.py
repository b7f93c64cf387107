"""The Authorizer: the one place that decides whether a principal may act on a resource.

Handlers ask ``authorize(request, action, resource)``; they never compare owner ids
themselves. A principal comes from the browser session (all scopes) or, on a route that
declares the scope it needs (:func:`accepts_bearer`), from a bearer access token (only
its scopes). Routes without that declaration are session-only: a bearer token sent to
them is not looked at, so a page can never be read with a token.

Operator actions (the ``admin.`` family) are decided here too: only a first-party browser
session of an account holding the operator role may take them, never a bearer token,
whatever its scopes. The console adds the second factor on top (cloud/admin/access.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from cloud.domain import Refusal
from cloud.oauth.const import (
    SCOPE_DEVICES,
    SCOPE_OPENID,
    SCOPE_ORDERS,
    SCOPE_PROFILE,
    SCOPE_REGISTER,
)

SESSION_SCOPES = None  # a browser session may do everything its user may do

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])
_BEARER_SCOPES_ATTRIBUTE = "__ethos_bearer_scopes__"


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    scopes: frozenset[str] | None  # None: a first-party browser session
    client_id: str | None = None
    # The operator role (`ethos cloud admin grant`); only ever set for a browser session.
    operator: bool = False

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


@dataclass(frozen=True)
class Rule:
    """An action: the scope a token needs, and whether the resource must be the principal's."""

    scope: str | None
    owner_only: bool = True
    operator_only: bool = False


# An operator action in the console: a signed-in operator's browser session, no token.
OPERATOR = Rule(scope=None, owner_only=False, operator_only=True)


RULES: dict[str, Rule] = {
    "account.read": Rule(scope=SCOPE_PROFILE),
    "devices.read": Rule(scope=SCOPE_DEVICES),
    "orders.read": Rule(scope=SCOPE_ORDERS),
    "orders.pay": Rule(scope=SCOPE_ORDERS),
    "recommendations.read": Rule(scope=SCOPE_PROFILE),
    "oauth.userinfo": Rule(scope=SCOPE_OPENID),
    "oauth.register": Rule(scope=SCOPE_REGISTER),
    # The buyer's own data (session-only pages: no token reaches them).
    "account.export": Rule(scope=SCOPE_PROFILE),
    "account.delete": Rule(scope=SCOPE_PROFILE),
    "account.update": Rule(scope=SCOPE_PROFILE),
    "orders.cancel": Rule(scope=SCOPE_ORDERS),
    # A hub the account linked: unlinking it (session only, cloud/oauth/pages.py).
    "hubs.unlink": Rule(scope=SCOPE_PROFILE),
    # Remote access: a person's own homes and broker token (session only, cloud/remote).
    "remote.home": Rule(scope=SCOPE_PROFILE),
    # The operations console (/admin). Areas add their operator actions here.
    "admin.view": OPERATOR,
    "admin.orders.read": OPERATOR,
    "admin.orders.write": OPERATOR,
    "admin.stock.read": OPERATOR,
    "admin.stock.write": OPERATOR,
    "admin.refunds.write": OPERATOR,
    "admin.webhooks.read": OPERATOR,
    "admin.webhooks.redeliver": OPERATOR,
    "admin.audit.read": OPERATOR,
}

# Scopes that hand out the secrets of an account's own devices (claim secrets). A client
# that registered itself (a hub) receives them only for the account that registered it:
# anyone else consenting to that client is never asked for them and never given them.
REGISTRANT_ONLY_SCOPES = frozenset({SCOPE_DEVICES})

# Set by the OIDC area: turns a bearer token into a principal (or None when invalid).
BearerResolver = Callable[[web.Request, str], Awaitable[Principal | None]]
BEARER_RESOLVER: web.AppKey[BearerResolver] = web.AppKey("bearer_resolver")
# Set by the accounts area: the principal of the request's browser session, if any.
SessionResolver = Callable[[web.Request], Awaitable[Principal | None]]
SESSION_RESOLVER: web.AppKey[SessionResolver] = web.AppKey("session_resolver")

_PRINCIPAL = web.RequestKey("ethos_principal", object)

NOT_SIGNED_IN = Refusal("not_signed_in", "Sign in first.", 401)
NOT_OPERATOR = Refusal("not_operator", "Only the store's operators may do that.", 403)
INVALID_TOKEN = Refusal("invalid_token", "The access token is not valid.", 401)
INSUFFICIENT_SCOPE = "insufficient_scope"


def accepts_bearer(*scopes: str) -> Callable[[HandlerT], HandlerT]:
    """Declare that a route takes bearer access tokens holding all of `scopes`."""
    if not scopes or not all(scopes):
        raise ValueError("a route that takes bearer tokens must declare its scope")

    def declare(handler: HandlerT) -> HandlerT:
        setattr(handler, _BEARER_SCOPES_ATTRIBUTE, frozenset(scopes))
        return handler

    return declare


def scopes_of(action: str) -> tuple[str, ...]:
    """The scopes a bearer token needs for `action`, from its rule (ValueError if unknown)."""
    rule = RULES.get(action)
    if rule is None:
        raise ValueError(f"{action} is not an action")
    return (rule.scope,) if rule.scope else ()


def declared_scopes(handler: object) -> frozenset[str] | None:
    """The scopes a route's handler declared, or None for a session-only route."""
    scopes = getattr(handler, _BEARER_SCOPES_ATTRIBUTE, None)
    return scopes if isinstance(scopes, frozenset) else None


def grantable_scopes(
    requested: Iterable[str], *, first_party: bool, registrant_id: int | None, user_id: int
) -> list[str]:
    """The part of `requested` a client may hold for this user (order kept)."""
    if first_party or registrant_id == user_id:
        return list(requested)
    return [scope for scope in requested if scope not in REGISTRANT_ONLY_SCOPES]


def decide(
    principal: Principal | None,
    action: str,
    owner_id: int | None = None,
    route_scopes: frozenset[str] = frozenset(),
) -> Refusal | None:
    """Side-effect free: None when allowed, else the reason (CanExecute)."""
    rule = RULES.get(action)
    if rule is None:
        return Refusal("unknown_action", f"{action} is not an action", 403)
    if principal is None:
        return NOT_SIGNED_IN
    if rule.operator_only and (principal.scopes is not SESSION_SCOPES or not principal.operator):
        return NOT_OPERATOR
    needed = sorted(route_scopes | ({rule.scope} if rule.scope else set()))
    missing = [scope for scope in needed if not principal.has_scope(scope)]
    if missing:
        return Refusal(INSUFFICIENT_SCOPE, f"This needs the '{' '.join(missing)}' scope.", 403)
    if rule.owner_only and owner_id is not None and owner_id != principal.user_id:
        return Refusal("not_owner", "That belongs to another account.", 404)
    return None


def _route_scopes(request: web.Request) -> frozenset[str] | None:
    return declared_scopes(request.match_info.handler)


async def resolve_principal(request: web.Request) -> Principal | None:
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]  # type: ignore[return-value]
    principal: Principal | None = None
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and _route_scopes(request) is not None:
        resolver = request.app.get(BEARER_RESOLVER)
        principal = await resolver(request, header[7:].strip()) if resolver else None
        if principal is None:
            raise web.HTTPUnauthorized(
                text=INVALID_TOKEN.message,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
    else:
        session_resolver = request.app.get(SESSION_RESOLVER)
        principal = await session_resolver(request) if session_resolver else None
    request[_PRINCIPAL] = principal
    return principal


def _challenge(refusal: Refusal, action: str, route_scopes: frozenset[str]) -> dict[str, str]:
    """RFC 6750 §3: say why a token was refused, and which scope would do."""
    if refusal.status == 401:
        return {"WWW-Authenticate": 'Bearer realm="ethos"'}
    if refusal.code == INSUFFICIENT_SCOPE:
        rule = RULES[action]
        scopes = " ".join(sorted(route_scopes | ({rule.scope} if rule.scope else set())))
        return {"WWW-Authenticate": f'Bearer error="{INSUFFICIENT_SCOPE}", scope="{scopes}"'}
    return {}


async def can_execute(
    request: web.Request, action: str, owner_id: int | None = None
) -> tuple[Principal | None, Refusal | None]:
    """The principal and the reason it may not act (None: it may), without raising; for
    endpoints that answer refusals in their own protocol's shape (OAuth errors)."""
    try:
        principal = await resolve_principal(request)
    except web.HTTPUnauthorized:
        return None, INVALID_TOKEN
    return principal, decide(principal, action, owner_id, _route_scopes(request) or frozenset())


async def authorize(request: web.Request, action: str, owner_id: int | None = None) -> Principal:
    """Resolve the principal and apply the rule, raising the matching HTTP error."""
    principal = await resolve_principal(request)
    route_scopes = _route_scopes(request) or frozenset()
    refusal = decide(principal, action, owner_id, route_scopes)
    if refusal is None:
        assert principal is not None
        return principal
    errors: dict[int, Any] = {
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
        404: web.HTTPNotFound,
    }
    headers = _challenge(refusal, action, route_scopes) or None
    raise errors.get(refusal.status, web.HTTPForbidden)(text=refusal.message, headers=headers)
