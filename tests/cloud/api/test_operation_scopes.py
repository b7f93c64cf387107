"""An operation's bearer scopes come from the Authorizer's rule for its action."""

from __future__ import annotations

import pytest
from aiohttp import web

from cloud.api.openapi import ApiRegistry
from cloud.authz import RULES, declared_scopes


async def _handler(request: web.Request) -> web.Response:
    return web.json_response({})


def test_scopes_follow_the_rule_of_the_action() -> None:
    registry = ApiRegistry()
    handler = registry.route("GET", "/x", summary="x", tag="t", auth=True, action="devices.read")(
        _handler
    )
    (operation,) = registry.operations
    assert operation.scopes == (RULES["devices.read"].scope,) == ("devices",)
    assert declared_scopes(handler) == frozenset({"devices"})
    path = registry.document("t", "1")["paths"]["/x"]["get"]
    assert {"bearer": ["devices"]} in path["security"]


def test_an_operation_without_action_is_session_only() -> None:
    registry = ApiRegistry()

    async def session_only(request: web.Request) -> web.Response:
        return web.json_response({})

    registry.route("GET", "/y", summary="y", tag="t", auth=True)(session_only)
    assert registry.operations[0].scopes == ()
    assert declared_scopes(session_only) is None


def test_an_unknown_action_is_refused_at_registration() -> None:
    with pytest.raises(ValueError, match="not an action"):
        ApiRegistry().route("GET", "/z", summary="z", tag="t", auth=True, action="nope.read")(
            _handler
        )
