"""Linking the hub to a store account (code + QR) and the store-related device actions; the
device page's ownership panel, the devices page's list of owned devices, and the store link as
sign-in, set-up and the users page see it (registered with the web UI by ``setup_web``).

``/auth/link`` is reachable before anyone can sign in (a fresh hub has no registered
client yet, so nobody could). Starting a link is allowed on a hub never set up (no link,
no owner), and to the hub's owner afterwards (to link again when the store refused the
old link). The code, and the linked account, are shown only to the browser that started
the link (it holds the page's token cookie) and to signed-in people: whoever else opens
the page learns nothing they could approve or read. The account that approves owns the
hub; whoever owned it before becomes a member.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from markupsafe import Markup

from hub.core.models import DeviceRow
from hub.helpers.secret_box import async_secret_box
from hub.integrations.ethos_cloud import cloud_runtime
from hub.integrations.ethos_cloud.client import CloudError, EthosCloudClient
from hub.integrations.ethos_cloud.const import DATA_ACCOUNT_SUBJECT, DOMAIN
from hub.integrations.ethos_cloud.onboarding import LinkFlow, LinkResult, LinkState
from hub.web.authz import Action, may_link, require
from hub.web.context import page_context
from hub.web.extensions import WEB_EXTENSIONS_KEY, StoreLink, render_panel
from hub.web.forms import async_read_form
from hub.web.keys import (
    CONFIG_KEY,
    HOUSEHOLD_KEY,
    HTTP_KEY,
    HUB_KEY,
    OIDC_KEY,
    ONBOARDING_KEY,
    PRINCIPAL_KEY,
)
from hub.web.middleware import async_signed_in
from hub.web.qr import qr_svg
from hub.web.view_models import DeviceView
from hub.web.views import requested_device

_LOGGER = logging.getLogger(__name__)
routes = web.RouteTableDef()


@dataclass
class LinkSlot:
    """The app's one linking attempt (created on first use, after the app has started)."""

    flow: LinkFlow | None = None
    starter: str | None = None  # hash of the page token of the browser that started it


LINK_SLOT_KEY = web.AppKey("ethos_cloud_link_slot", LinkSlot)
WAITING_REFRESH_S = 3
LINK_TOKEN_COOKIE = "ethos_hub_link"  # noqa: S105 (a cookie name)
FIRST_SYNC_WAIT_S = 5.0  # how long the page waits for the store's first list of devices
FIRST_SYNC_POLL_S = 0.05


def is_linked(app: web.Application) -> bool:
    return bool(app[HUB_KEY].config_entries.async_entries(DOMAIN))


def linked_account_subject(app: web.Application) -> str | None:
    """The store account (OIDC subject) the hub is linked to: the hub's owner."""
    for entry in app[HUB_KEY].config_entries.async_entries(DOMAIN):
        subject = entry.data.get(DATA_ACCOUNT_SUBJECT)
        if isinstance(subject, str) and subject:
            return subject
    return None


def linking_available(app: web.Application) -> bool:
    return DOMAIN in app[HUB_KEY].loaded_integrations


def apply_registered_client(app: web.Application) -> None:
    """Sign-in uses the client the hub registered at the store, once linked."""
    runtime = cloud_runtime(app[HUB_KEY])
    if runtime is not None and runtime.client_id and runtime.client_secret:
        app[OIDC_KEY].set_client(runtime.client_id, runtime.redirect_uri, runtime.client_secret)


async def async_adoption_panel(
    request: web.Request, device: DeviceRow, view: DeviceView
) -> Markup | None:
    """Ownership and claim proof of an Ethos device, on its page."""
    if not device.extra.get("ethos"):
        return None
    return render_panel(request, "_adoption.html", device=view, raw=device)


async def async_sync_panel(request: web.Request) -> Markup | None:
    """The store's list of owned devices, on the devices page."""
    runtime = cloud_runtime(request.app[HUB_KEY])
    if runtime is None:
        return None
    return render_panel(request, "_store_sync.html", sync=runtime.sync)


def setup_web(app: web.Application) -> None:
    app[LINK_SLOT_KEY] = LinkSlot()
    extensions = app[WEB_EXTENSIONS_KEY]
    extensions.store_link = StoreLink(
        linking_available=linking_available,
        is_linked=is_linked,
        linked_account_subject=linked_account_subject,
        apply_registered_client=apply_registered_client,
    )
    extensions.device_panels.append(async_adoption_panel)
    extensions.devices_panels.append(async_sync_panel)


async def async_link_flow(app: web.Application) -> LinkFlow:
    slot = app[LINK_SLOT_KEY]
    if slot.flow is None:
        hub = app[HUB_KEY]
        # Through sign-in's OAuth client: one discovery document for both.
        provider = app[OIDC_KEY].provider
        client = EthosCloudClient(app[HTTP_KEY], app[CONFIG_KEY].cloud_url, provider)
        household = app[HOUSEHOLD_KEY]

        async def async_owner_linked(result: LinkResult) -> None:
            await household.async_link_owner(result.subject, result.email, result.name)

        slot.flow = LinkFlow(hub, client, await async_secret_box(hub), async_owner_linked)
    return slot.flow


async def _may_start(request: web.Request) -> bool:
    linked = is_linked(request.app)
    has_owner = await request.app[HOUSEHOLD_KEY].async_has_owner()
    return may_link(await async_signed_in(request), linked=linked, has_owner=has_owner)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _is_starter(request: web.Request) -> bool:
    """Whether this browser started the current link (it holds that page token)."""
    starter, cookie = request.app[LINK_SLOT_KEY].starter, request.cookies.get(LINK_TOKEN_COOKIE)
    if not starter or not cookie:
        return False
    return hmac.compare_digest(starter, _token_hash(cookie))


def _form_token_ok(request: web.Request, sent: object) -> bool:
    """Double-submit token: this page is used before anyone can sign in, so the session's
    CSRF token does not exist yet. (Origin alone cannot decide: privacy settings and some
    browsers send ``Origin: null`` or none at all.)"""
    origin = request.headers.get("Origin")
    if origin not in (None, "null") and urlsplit(origin).netloc != request.host:
        return False
    cookie = request.cookies.get(LINK_TOKEN_COOKIE)
    if not cookie or not isinstance(sent, str):
        return False
    return hmac.compare_digest(sent, cookie)


PAGE_DEFAULTS: dict[str, object] = {
    "flow_state": "idle",
    "problem": None,
    "authorization": None,
    "qr": None,
    "refresh": None,
    "elsewhere": False,
    "linked": False,
    "account": None,
    "sync": None,
    "may_start": False,
    "setup_progress": None,
}


def _page(request: web.Request, status: int = 200, **values: object) -> web.Response:
    token = request.cookies.get(LINK_TOKEN_COOKIE) or secrets.token_urlsafe(24)
    values = {**PAGE_DEFAULTS, **values}
    response = aiohttp_jinja2.render_template(
        "link.html", request, page_context(request, link_token=token, **values)
    )
    response.set_status(status)
    response.headers["Cache-Control"] = "no-store"
    response.set_cookie(
        LINK_TOKEN_COOKIE, token, httponly=True, samesite="Strict", secure=request.secure,
        path="/auth/link",
    )  # fmt: skip
    return response


@routes.get("/auth/link")
async def link_page(request: web.Request) -> web.Response:
    app = request.app
    if not linking_available(app):
        return _page(request, 404, flow_state="unavailable", problem="linking is not enabled")
    flow = await async_link_flow(app)
    onboarding = app[ONBOARDING_KEY]
    if flow.poll_due():
        # The store lists the hub under the name its owner gave it in the set-up flow.
        await flow.async_poll(app[OIDC_KEY].redirect_uri, app[HUB_KEY].core_config.name)
    apply_registered_client(app)
    runtime = cloud_runtime(app[HUB_KEY])
    principal = await async_signed_in(request)
    request[PRINCIPAL_KEY] = principal  # a signed-in person keeps the hub's menu here
    starter = _is_starter(request)
    if runtime is not None and principal is not None and runtime.sync.status == "starting":
        # Just linked: the first answer from the store is moments away; wait for it so
        # the page shows the devices owned, not an empty saved list.
        # Never cancel a round (refresh tokens rotate): wake the sync loop and wait.
        runtime.sync.request_sync()
        deadline = asyncio.get_running_loop().time() + FIRST_SYNC_WAIT_S
        while runtime.sync.status == "starting":
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(FIRST_SYNC_POLL_S)
    # Only the starting browser sees the code (whoever approves it owns the hub), and only
    # it and signed-in people see which account the hub is linked to.
    waiting = flow.state is LinkState.WAITING
    authorization = flow.authorization if waiting and starter else None
    insider = starter or principal is not None
    return _page(
        request,
        flow_state=flow.state.value,
        problem=flow.problem if insider else None,
        authorization=authorization,
        qr=qr_svg(authorization.verification_uri_complete, "Scan to approve this hub")
        if authorization
        else None,
        refresh=WAITING_REFRESH_S if authorization else None,
        elsewhere=waiting and not starter,
        linked=is_linked(app),
        account=runtime.sync.account_email if runtime and insider else None,
        sync=runtime.sync if runtime and principal is not None else None,
        may_start=await _may_start(request),
        setup_progress=None if onboarding.finished else onboarding.progress(),
    )


@routes.post("/auth/link")
async def start_link(request: web.Request) -> web.StreamResponse:
    form = await async_read_form(request)
    if not _form_token_ok(request, form.get("link_token")):
        raise web.HTTPForbidden(text="this form has expired or came from another site; reload")
    if not linking_available(request.app):
        raise web.HTTPNotFound(text="linking is not enabled")
    if not await _may_start(request):
        raise web.HTTPForbidden(text="this hub has an owner; only its owner can link it again")
    flow = await async_link_flow(request.app)
    # The code goes to this browser only: the one holding the page token it just sent.
    request.app[LINK_SLOT_KEY].starter = _token_hash(str(form.get("link_token")))
    try:
        await flow.async_start()
    except CloudError as err:
        linked = is_linked(request.app)
        return _page(
            request, 503, flow_state="failed", problem=str(err), may_start=True, linked=linked
        )
    raise web.HTTPSeeOther("/auth/link")


@routes.post("/devices/{device_id}/verify")
async def verify_device(request: web.Request) -> web.Response:
    """Challenge the device again now (e.g. after fixing its claim secret)."""
    require(request[PRINCIPAL_KEY], Action.CONTROL)
    hub = request.app[HUB_KEY]
    device_id = requested_device(request).id
    runtime = cloud_runtime(hub)
    if runtime is None:
        raise web.HTTPConflict(text="link the hub to your Ethos account first")
    task = runtime.adoption.async_check(device_id)
    if task is not None:
        await task
    raise web.HTTPSeeOther(f"/devices/{device_id}")


@routes.post("/cloud/sync")
async def sync_now(request: web.Request) -> web.Response:
    require(request[PRINCIPAL_KEY], Action.CONTROL)
    runtime = cloud_runtime(request.app[HUB_KEY])
    if runtime is None:
        raise web.HTTPConflict(text="link the hub to your Ethos account first")
    await runtime.sync.async_sync_once()
    raise web.HTTPSeeOther("/devices")
