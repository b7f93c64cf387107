"""Authorizer: the one place that decides what a signed-in person may do on this hub."""

from __future__ import annotations

import enum
from collections.abc import Collection

from aiohttp import web

from hub.web.auth.const import ROLE_OWNER
from hub.web.auth.models import HubUserRow
from hub.web.auth.users import Principal


class Action(enum.StrEnum):
    VIEW = "view"
    CONTROL = "control"  # send commands to devices
    RENAME = "rename"
    REMOVE_DEVICE = "remove_device"
    EDIT_DASHBOARD = "edit_dashboard"
    MANAGE_USERS = "manage_users"  # see people and invitations, invite
    REMOVE_USER = "remove_user"
    TRANSFER_OWNERSHIP = "transfer_ownership"
    LINK_HUB = "link_hub"  # link the hub to a store account (again)
    MANAGE_BROKER = "manage_broker"  # device accounts on the MQTT broker (owner only)
    # Create, change, turn on/off and run automations: the owner, and the members the owner
    # allows on the automations page (given to ``refusal`` as ``granted``).
    EDIT_AUTOMATIONS = "edit_automations"
    MANAGE_BACKUPS = "manage_backups"  # download and restore backups (owner only)
    EDIT_ROOMS = "edit_rooms"  # create, rename, order, remove rooms; put devices in them
    # Turn remote access on/off and choose what is shared (owner only); pairing one's own
    # browsers is every member's (``refusal_browser``).
    MANAGE_REMOTE = "manage_remote"


_MEMBER_ACTIONS = frozenset({Action.VIEW, Action.CONTROL})
_ABOUT_SOMEONE = frozenset({Action.REMOVE_USER, Action.TRANSFER_OWNERSHIP})


_GRANTABLE = frozenset({Action.EDIT_AUTOMATIONS})


def refusal(
    principal: Principal | None, action: Action, granted: Collection[Action] = ()
) -> str | None:
    """Why the action is refused, or None when it is allowed (side-effect free).
    ``granted``: what the owner allowed this member beyond the members' own actions."""
    if principal is None:
        return "sign in first"
    if principal.is_owner or action in _MEMBER_ACTIONS:
        return None
    if action in _GRANTABLE and action in granted:
        return None
    if action in _GRANTABLE:
        return "only the owner, and the members the owner allows, can do this"
    return "only the hub's owner can do this"


def refusal_about(
    principal: Principal | None,
    action: Action,
    target: HubUserRow,
    linked_subject: str | None = None,
) -> str | None:
    """Why ``action`` on the person ``target`` is refused, or None (side-effect free).

    Nobody removes themselves or the owner; the store account that holds the hub's link
    stays while the link is theirs (link the hub to another account first)."""
    reason = refusal(principal, action)
    if reason is not None or principal is None:
        return reason or "sign in first"
    if action not in _ABOUT_SOMEONE:
        return None
    transfer = action is Action.TRANSFER_OWNERSHIP
    if target.id == principal.user_id:
        return "that is you" if transfer else "make someone else owner before you leave"
    if target.role == ROLE_OWNER:
        return "they already own this hub" if transfer else "the owner cannot be removed"
    if action is Action.REMOVE_USER and linked_subject and target.subject == linked_subject:
        return "this store account holds the hub's link; link the hub to another account first"
    return None


def refusal_browser(principal: Principal | None, browser_owner: int | None) -> str | None:
    """Why removing a paired remote browser is refused, or None: everyone removes their own
    browsers, the owner anyone's (side-effect free)."""
    if principal is None:
        return "sign in first"
    if principal.is_owner or browser_owner == principal.user_id:
        return None
    return "only the owner can remove someone else's browser"


def may_link(principal: Principal | None, *, linked: bool, has_owner: bool) -> bool:
    """Linking (again) is for the owner; on a hub never set up (no link, no owner) anyone
    on the LAN may start, since nobody could sign in before the first link."""
    if not linked and not has_owner:
        return True
    return refusal(principal, Action.LINK_HUB) is None


def require(
    principal: Principal | None, action: Action, granted: Collection[Action] = ()
) -> Principal:
    reason = refusal(principal, action, granted)
    if reason is not None or principal is None:
        raise web.HTTPForbidden(text=reason or "forbidden")
    return principal


def require_about(
    principal: Principal | None, action: Action, target: HubUserRow, linked_subject: str | None
) -> Principal:
    reason = refusal_about(principal, action, target, linked_subject)
    if reason is not None or principal is None:
        raise web.HTTPForbidden(text=reason or "forbidden")
    return principal
