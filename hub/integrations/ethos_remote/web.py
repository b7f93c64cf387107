"""The ``/remote`` page: the owner turns remote access on or off and ticks what is shared
(grouped by room and device); everyone signed in pairs their own browsers (a one-time code,
then the new browser with its check digits) and removes them; the owner sees and removes
every browser. Every form carries the session's CSRF token (checked by the middleware).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import aiohttp_jinja2
from aiohttp import web

from hub.core.hub import Hub
from hub.integrations.ethos_cloud.runtime import cloud_runtime
from hub.integrations.ethos_remote import remote_access
from hub.integrations.ethos_remote.const import DATA_MEMBERS
from hub.integrations.ethos_remote.members import Member
from hub.web.auth.const import ROLE_OWNER
from hub.web.auth.store import AuthStore
from hub.web.auth.users import Principal
from hub.web.authz import Action, refusal, refusal_browser, require
from hub.web.context import page_context
from hub.web.forms import async_read_form
from hub.web.keys import AUTH_KEY, HUB_KEY, PRINCIPAL_KEY
from hub.web.nav import NavLink, add_nav_link

if TYPE_CHECKING:
    from hub.integrations.ethos_remote.keystore import PairedBrowser
    from hub.integrations.ethos_remote.manager import RemoteAccess
    from hub.integrations.ethos_remote.pairing import RemotePairing

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()
PAIRING_REFRESH_S = 3


class WebMembers:
    """The hub's people from the web UI's ``auth`` document, for remote access."""

    def __init__(self, auth: AuthStore) -> None:
        self._auth = auth

    def members(self) -> list[Member]:
        found = (self.member(user_id) for user_id in list(self._auth.users))
        return [member for member in found if member is not None]

    def member(self, user_id: int) -> Member | None:
        user = self._auth.users.get(user_id)
        if user is None:
            return None
        return Member(
            user.id, user.subject, user.name or user.email or user.subject, user.role == ROLE_OWNER
        )

    def control_refusal(self, user_id: int) -> str | None:
        user = self._auth.users.get(user_id)
        if user is None:
            return "this person is no longer on this hub"
        principal = Principal(
            user_id=user.id,
            subject=user.subject,
            name=user.name or user.subject,
            email=user.email,
            role=user.role,
            csrf_token="",
            offline=False,
        )
        return refusal(principal, Action.CONTROL)


@dataclass
class PendingPairing:
    code: str
    expires_at: datetime


@dataclass
class Pairings:
    """Codes shown and not yet used, by hub user (kept in memory only)."""

    pending: dict[int, PendingPairing] = field(default_factory=dict)


PAIRINGS_KEY = web.AppKey("ethos_remote_pairings", Pairings)


def _loaded(app: web.Application) -> bool:
    return remote_access(app[HUB_KEY]) is not None


def setup_web(app: web.Application) -> None:
    app[PAIRINGS_KEY] = Pairings()
    # The routes exist whether or not the integration loads; the link only while it runs.
    add_nav_link(app, NavLink("/remote", "nav-remote", "Remote access", _loaded))

    async def async_offer_members(app: web.Application) -> None:
        # After the app's start-up contexts: the hub runs and its people are loaded (before
        # that, an empty list would look like everyone had been removed).
        hub = app[HUB_KEY]
        hub.data[DATA_MEMBERS] = WebMembers(app[AUTH_KEY])
        remote = remote_access(hub)
        if remote is not None:
            remote.async_wake()

    app.on_startup.append(async_offer_members)


def _remote(request: web.Request) -> RemoteAccess:
    remote = remote_access(request.app[HUB_KEY])
    if remote is None:
        raise web.HTTPNotFound(text="remote access is not enabled on this hub")
    return remote


def _hub_id(hub: Hub) -> str | None:
    runtime = cloud_runtime(hub)
    return runtime.client_id if runtime is not None and runtime.client_id else None


@dataclass(frozen=True)
class EntityChoice:
    entity_id: str
    name: str
    state: str
    shared: bool


@dataclass
class DeviceGroup:
    name: str
    entities: list[EntityChoice] = field(default_factory=list)


@dataclass
class RoomGroup:
    name: str
    devices: dict[str, DeviceGroup] = field(default_factory=dict)


def _choices(hub: Hub, remote: RemoteAccess) -> list[RoomGroup]:
    """Every entity with a state, by room then device (no room last)."""
    rooms: dict[str, RoomGroup] = {}
    for state in sorted(hub.states.async_all(), key=lambda s: s.name.casefold()):
        row = hub.entities.get(state.entity_id)
        device = hub.devices.get(row.device_id) if row is not None and row.device_id else None
        area = hub.areas.area_of_entity(row) if row is not None else None
        room = rooms.setdefault(area.id if area else "", RoomGroup(area.name if area else ""))
        device_name = (device.name_by_user or device.name or "") if device else ""
        group = room.devices.setdefault(device.id if device else "", DeviceGroup(device_name))
        shared = state.entity_id in remote.sharing.entity_ids
        group.entities.append(EntityChoice(state.entity_id, state.name, state.state, shared))
    order = {a.id: i for i, a in enumerate(hub.areas.async_all())}
    return [rooms[k] for k in sorted(rooms, key=lambda k: (k == "", order.get(k, 0)))]


@dataclass(frozen=True)
class BrowserView:
    browser: PairedBrowser
    person: str
    removable: bool


def _browsers(
    request: web.Request, keys: RemotePairing | None, principal: Principal
) -> list[BrowserView]:
    """The browsers this person may see: their own; the owner, everyone's."""
    members = request.app[HUB_KEY].data[DATA_MEMBERS]
    views = []
    for browser in keys.browsers() if keys is not None else []:
        if browser.user_id != principal.user_id and not principal.is_owner:
            continue
        member = members.member(browser.user_id)
        views.append(
            BrowserView(
                browser,
                member.name if member is not None else "(removed)",
                refusal_browser(principal, browser.user_id) is None,
            )
        )
    return views


def _pairing_state(
    request: web.Request, keys: RemotePairing | None, principal: Principal
) -> tuple[PendingPairing | None, PairedBrowser | None]:
    """The code still waiting for this person's browser, or the browser it just paired."""
    pending = request.app[PAIRINGS_KEY].pending.get(principal.user_id)
    if pending is None or keys is None:
        return None, None
    paired = keys.pairing_result(principal.user_id)
    if paired is not None or pending.expires_at <= datetime.now(UTC):
        del request.app[PAIRINGS_KEY].pending[principal.user_id]
        return None, paired
    return pending, None


async def _async_page(request: web.Request, status: int = 200, **values: object) -> web.Response:
    principal = require(request[PRINCIPAL_KEY], Action.VIEW)
    remote = _remote(request)
    hub = request.app[HUB_KEY]
    linked = _hub_id(hub) is not None
    keys = await remote.async_keys() if linked else None  # no cryptography before linking
    pending, just_paired = _pairing_state(request, keys, principal)
    manage = refusal(principal, Action.MANAGE_REMOTE) is None
    values.setdefault("problem", None)
    response = aiohttp_jinja2.render_template(
        "remote.html",
        request,
        page_context(
            request,
            remote=remote,
            linked=linked,
            manage=manage,
            rooms=_choices(hub, remote) if manage else [],
            browsers=_browsers(request, keys, principal),
            pending=pending,
            just_paired=just_paired,
            refresh=PAIRING_REFRESH_S if pending else None,
            **values,
        ),
    )
    response.set_status(status)
    response.headers["Cache-Control"] = "no-store"  # a pairing code may be on it
    return response


@routes.get("/remote")
async def remote_page(request: web.Request) -> web.Response:
    return await _async_page(request)


@routes.post("/remote/sharing")
async def change_sharing(request: web.Request) -> web.StreamResponse:
    require(request[PRINCIPAL_KEY], Action.MANAGE_REMOTE)
    remote = _remote(request)
    form = await async_read_form(request)
    shared = [str(v) for v in form.getall("entity_id", [])]
    await remote.sharing.async_update(enabled=form.get("enabled") == "on", entity_ids=shared)
    raise web.HTTPSeeOther("/remote")


@routes.post("/remote/pair")
async def start_pairing(request: web.Request) -> web.StreamResponse:
    principal = require(request[PRINCIPAL_KEY], Action.VIEW)
    remote = _remote(request)
    hub_id = _hub_id(request.app[HUB_KEY])
    if hub_id is None:
        return await _async_page(request, 409, problem="link the hub to your store account first")
    code = (await remote.async_keys()).start_pairing(principal.user_id)
    request.app[PAIRINGS_KEY].pending[principal.user_id] = PendingPairing(
        code.code, code.expires_at
    )
    raise web.HTTPSeeOther("/remote#pairing")


@routes.post("/remote/browsers/{browser_id}/remove")
async def remove_browser(request: web.Request) -> web.StreamResponse:
    principal = require(request[PRINCIPAL_KEY], Action.VIEW)
    remote = _remote(request)
    browser_id = request.match_info["browser_id"]
    hub_id = _hub_id(request.app[HUB_KEY])
    if hub_id is None:
        return await _async_page(request, 409, problem="link the hub to your store account first")
    owner = (await remote.async_keys()).browser_owner(browser_id)
    if owner is None:
        raise web.HTTPNotFound(text="no such browser")
    reason = refusal_browser(principal, owner)
    if reason is not None:
        raise web.HTTPForbidden(text=reason)
    await remote.async_remove_browser(hub_id, browser_id)
    raise web.HTTPSeeOther("/remote#browsers")
