"""The household page (owner only): people, roles, invitations; and the invitation link's
landing page, which anyone holding the link may open (it is spent only by signing in)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import aiohttp_jinja2
from aiohttp import web

from hub.web.auth.const import INVITE_LINK
from hub.web.auth.household import HouseholdError
from hub.web.auth.models import HubInvitationRow, HubUserRow
from hub.web.authz import Action, refusal_about, require, require_about
from hub.web.context import page_context
from hub.web.extensions import linked_account_subject
from hub.web.forms import async_read_form
from hub.web.keys import ACCOUNT_CHECK_KEY, CONFIG_KEY, HOUSEHOLD_KEY, PRINCIPAL_KEY, USERS_KEY
from hub.web.qr import qr_svg

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass(frozen=True)
class PersonView:
    user: HubUserRow
    linked: bool  # holds the hub's store link
    remove_refusal: str | None
    transfer_refusal: str | None


@dataclass(frozen=True)
class NewLink:
    url: str
    expires_at: datetime
    qr: object


def _requested_id(request: web.Request, name: str) -> int:
    value = request.match_info[name]
    if not value.isdigit() or len(value) > 12:
        raise web.HTTPNotFound(text="no such person or invitation")
    return int(value)


async def _async_target(request: web.Request) -> HubUserRow:
    user = await request.app[USERS_KEY].async_user(_requested_id(request, "user_id"))
    if user is None:
        raise web.HTTPNotFound(text="no such person on this hub")
    return user


def _hub_url(request: web.Request) -> str:
    configured = request.app[CONFIG_KEY].ui_url
    return (configured or f"{request.scheme}://{request.host}").rstrip("/")


async def _async_page(request: web.Request, status: int = 200, **values: object) -> web.Response:
    principal = require(request[PRINCIPAL_KEY], Action.MANAGE_USERS)
    linked = linked_account_subject(request.app)
    people = [
        PersonView(
            user,
            bool(linked) and user.subject == linked,
            refusal_about(principal, Action.REMOVE_USER, user, linked),
            refusal_about(principal, Action.TRANSFER_OWNERSHIP, user, linked),
        )
        for user in await request.app[USERS_KEY].async_users()
    ]
    invitations: list[HubInvitationRow] = await request.app[HOUSEHOLD_KEY].async_open_invitations()
    values.setdefault("problem", None)
    values.setdefault("new_link", None)
    response = aiohttp_jinja2.render_template(
        "users.html",
        request,
        page_context(
            request, people=people, invitations=invitations, link_kind=INVITE_LINK, **values
        ),
    )
    response.set_status(status)
    return response


@routes.get("/users")
async def users_page(request: web.Request) -> web.Response:
    return await _async_page(request)


@routes.post("/users/invitations")
async def invite_by_email(request: web.Request) -> web.StreamResponse:
    principal = require(request[PRINCIPAL_KEY], Action.MANAGE_USERS)
    email = str((await async_read_form(request)).get("email", ""))
    try:
        await request.app[HOUSEHOLD_KEY].async_invite_email(email, principal.user_id)
    except HouseholdError as err:
        return await _async_page(request, 400, problem=str(err))
    raise web.HTTPSeeOther("/users#invitations")


@routes.post("/users/invitation-links")
async def invite_by_link(request: web.Request) -> web.Response:
    principal = require(request[PRINCIPAL_KEY], Action.MANAGE_USERS)
    try:
        token, expires = await request.app[HOUSEHOLD_KEY].async_create_invite_link(
            principal.user_id
        )
    except HouseholdError as err:
        return await _async_page(request, 400, problem=str(err))
    url = f"{_hub_url(request)}/auth/invite/{token}"
    new_link = NewLink(url, expires, qr_svg(url, "Scan to join this hub"))
    # Shown once, here: only the token's hash is kept.
    return await _async_page(request, new_link=new_link)


@routes.post("/users/invitations/{invitation_id}/cancel")
async def cancel_invitation(request: web.Request) -> web.StreamResponse:
    require(request[PRINCIPAL_KEY], Action.MANAGE_USERS)
    await request.app[HOUSEHOLD_KEY].async_cancel_invitation(
        _requested_id(request, "invitation_id")
    )
    raise web.HTTPSeeOther("/users#invitations")


@routes.post("/users/{user_id}/remove")
async def remove_person(request: web.Request) -> web.StreamResponse:
    target = await _async_target(request)
    linked = linked_account_subject(request.app)
    require_about(request[PRINCIPAL_KEY], Action.REMOVE_USER, target, linked)
    assert target.id is not None
    await request.app[HOUSEHOLD_KEY].async_remove(target.id)
    request.app[ACCOUNT_CHECK_KEY].forget(target.id)
    raise web.HTTPSeeOther("/users")


@routes.post("/users/{user_id}/make-owner")
async def transfer_ownership(request: web.Request) -> web.StreamResponse:
    target = await _async_target(request)
    linked = linked_account_subject(request.app)
    require_about(request[PRINCIPAL_KEY], Action.TRANSFER_OWNERSHIP, target, linked)
    assert target.id is not None
    await request.app[HOUSEHOLD_KEY].async_transfer_ownership(target.id)
    raise web.HTTPSeeOther("/")  # the former owner may no longer see the household page


@routes.get("/auth/invite/{token}")
async def invitation_landing(request: web.Request) -> web.Response:
    """Opening the link spends nothing (mail scanners open links too); signing in does."""
    token = request.match_info["token"]
    valid = await request.app[HOUSEHOLD_KEY].async_link_invitation_valid(token)
    response = aiohttp_jinja2.render_template(
        "invite.html", request, page_context(request, valid=valid, token=token)
    )
    response.set_status(200 if valid else 410)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    return response
