"""The first-run set-up at ``/setup``: name and place, store link, rooms, devices; left and
resumed at will (``hub.core.onboarding`` keeps where it is).

On a hub never set up (no link, no owner) anyone on the LAN may give its name and place and
start the link, as anyone may start linking (``may_link``): nobody could sign in before.
Those forms carry a double-submit token, since no session (and no CSRF token) exists yet.
From then on only the signed-in owner continues."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from hub.core.core_config import clean_settings
from hub.core.errors import ServiceValidationError
from hub.core.onboarding import STEP_DEVICES, STEP_HUB, STEP_LINK, STEP_ROOMS, STEPS
from hub.web import extensions
from hub.web.auth.users import Principal
from hub.web.authz import Action, may_link, require
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import HOUSEHOLD_KEY, HUB_KEY, ONBOARDING_KEY, PRINCIPAL_KEY
from hub.web.middleware import async_signed_in

routes = web.RouteTableDef()
SETUP_TOKEN_COOKIE = "ethos_hub_setup"  # noqa: S105 (a cookie name)
SUGGESTED_ROOMS = ("Living room", "Kitchen", "Bedroom", "Bathroom", "Hall", "Office")
MAX_NEW_ROOMS = 20


async def _async_visitor(request: web.Request) -> tuple[Principal | None, bool]:
    """The signed-in person (None for a stranger) and whether the hub is still fresh."""
    principal = await async_signed_in(request)
    request[PRINCIPAL_KEY] = principal
    fresh = may_link(
        None,
        linked=extensions.is_linked(request.app),
        has_owner=await request.app[HOUSEHOLD_KEY].async_has_owner(),
    )
    return principal, fresh


def _admit(principal: Principal | None, fresh: bool, step: str) -> None:
    """Strangers only on a fresh hub's first steps; otherwise the owner."""
    if principal is None:
        if fresh and step in (STEP_HUB, STEP_LINK):
            return
        raise web.HTTPFound("/auth/login?next=/setup")
    require(principal, Action.LINK_HUB)  # the owner's, as linking is


def _token_ok(request: web.Request, principal: Principal | None, sent: object) -> bool:
    if not isinstance(sent, str):
        return False
    if principal is not None:
        return hmac.compare_digest(sent, principal.csrf_token)
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and urlsplit(origin).netloc != request.host:
        return False
    cookie = request.cookies.get(SETUP_TOKEN_COOKIE)
    return bool(cookie) and hmac.compare_digest(sent, cookie or "")


async def _async_checked_form(request: web.Request, step: str) -> MultiDictProxy[Any]:
    principal, fresh = await _async_visitor(request)
    _admit(principal, fresh, step)
    form = await async_read_form(request)
    if not _token_ok(request, principal, form.get("token")):
        raise web.HTTPForbidden(text="this form has expired or came from another site; reload")
    return form


def _render(request: web.Request, step: str, status: int = 200, **values: object) -> web.Response:
    principal = request[PRINCIPAL_KEY]
    token = (
        principal.csrf_token
        if principal is not None
        else request.cookies.get(SETUP_TOKEN_COOKIE) or secrets.token_urlsafe(24)
    )
    hub = request.app[HUB_KEY]
    onboarding = request.app[ONBOARDING_KEY]
    response = aiohttp_jinja2.render_template(
        "setup.html",
        request,
        page_context(
            request,
            step=step,
            number=STEPS.index(step) + 1,
            total=len(STEPS),
            progress=onboarding.progress(),
            token=token,
            place=hub.core_config,
            areas=hub.areas.async_all(),
            devices=hub.devices.async_all(),
            suggested=[r for r in SUGGESTED_ROOMS if hub.areas.find_by_name(r) is None],
            **{"problem": None, **values},
        ),
    )
    response.set_status(status)
    if principal is None:
        response.set_cookie(
            SETUP_TOKEN_COOKIE, token, httponly=True, samesite="Strict",
            secure=request.secure, path="/setup",
        )  # fmt: skip
    return response


@routes.get("/setup")
async def setup_start(request: web.Request) -> web.Response:
    """Where set-up resumes: its first step not done (home once all are)."""
    step = request.app[ONBOARDING_KEY].next_step
    raise web.HTTPSeeOther(f"/setup/{step}" if step else "/")


@routes.get("/setup/{step}")
async def setup_step(request: web.Request) -> web.Response:
    step = request.match_info["step"]
    if step not in STEPS:
        raise web.HTTPNotFound(text="no such set-up step")
    principal, fresh = await _async_visitor(request)
    _admit(principal, fresh, step)
    if step == STEP_LINK:
        if extensions.is_linked(request.app):
            raise web.HTTPSeeOther("/setup" if principal else "/auth/login?next=/setup")
        raise web.HTTPSeeOther("/auth/link")  # the link page shows the set-up's progress
    return _render(request, step)


@routes.post("/setup/hub")
async def setup_hub(request: web.Request) -> web.Response:
    form = await _async_checked_form(request, STEP_HUB)
    hub = request.app[HUB_KEY]
    try:
        values = clean_settings(dict(form))
    except ServiceValidationError as err:
        return _render(request, STEP_HUB, 400, problem=str(err))
    await hub.core_config.async_update(values)
    await request.app[ONBOARDING_KEY].async_complete(STEP_HUB)
    raise web.HTTPSeeOther("/setup")


@routes.post("/setup/rooms")
async def setup_rooms(request: web.Request) -> web.Response:
    form = await _async_checked_form(request, STEP_ROOMS)
    names = [str(n) for n in form.getall("room", [])]
    names += [n for n in str(form.get("other") or "").split(",") if n.strip()]
    if len(names) > MAX_NEW_ROOMS:
        return _render(request, STEP_ROOMS, 400, problem=f"at most {MAX_NEW_ROOMS} at once")
    areas = request.app[HUB_KEY].areas
    try:
        for name in names:
            await areas.async_get_or_create(name)
    except ServiceValidationError as err:
        return _render(request, STEP_ROOMS, 400, problem=str(err))
    await request.app[ONBOARDING_KEY].async_complete(STEP_ROOMS)
    raise web.HTTPSeeOther("/setup")


@routes.post("/setup/devices")
async def setup_devices(request: web.Request) -> web.Response:
    await _async_checked_form(request, STEP_DEVICES)
    await request.app[ONBOARDING_KEY].async_complete(STEP_DEVICES)
    raise web.HTTPSeeOther("/")
