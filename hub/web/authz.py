"""Authorizer: the one place that decides what a signed-in person may do on this hub."""

from __future__ import annotations

import enum

from aiohttp import web

from hub.web.auth.users import Principal


class Action(enum.StrEnum):
    VIEW = "view"
    CONTROL = "control"  # send commands to devices
    RENAME = "rename"
    REMOVE_DEVICE = "remove_device"
    EDIT_DASHBOARD = "edit_dashboard"
    MANAGE_USERS = "manage_users"
    MANAGE_BROKER = "manage_broker"  # device accounts on the MQTT broker (owner only)


_MEMBER_ACTIONS = frozenset({Action.VIEW, Action.CONTROL})


def refusal(principal: Principal | None, action: Action) -> str | None:
    """Why the action is refused, or None when it is allowed (side-effect free)."""
    if principal is None:
        return "sign in first"
    if principal.is_owner or action in _MEMBER_ACTIONS:
        return None
    return "only the hub's owner can do this"


def require(principal: Principal | None, action: Action) -> Principal:
    reason = refusal(principal, action)
    if reason is not None or principal is None:
        raise web.HTTPForbidden(text=reason or "forbidden")
    return principal
