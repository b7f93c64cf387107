"""The buyer's data in the buyer's hands: download it (JSON) and delete the account.

The deletion page shows, for this account, what deleting it will do before asking for the
password; the Authorizer decides who may, like every other action.
"""

from __future__ import annotations

import json

import aiohttp_jinja2
from aiohttp import web

from cloud.accounts import erasure, throttle
from cloud.accounts.keys import PERSONAL_DATA
from cloud.accounts.models import User
from cloud.accounts.personal_data import DataSubject
from cloud.accounts.sessions import SESSION_COOKIE, require_user
from cloud.authz import authorize
from cloud.db import utcnow
from cloud.web.forms import read_form, transaction
from cloud.web.keys import DB
from cloud.web.origin import client_address

DELETED_PATH = "/account/deleted"


async def _subject(request: web.Request, action: str) -> DataSubject:
    await require_user(request)  # a browser without a session goes to the sign-in page
    principal = await authorize(request, action)
    async with request.app[DB]() as session:
        user = await session.get(User, principal.user_id)
    if user is None:
        raise web.HTTPNotFound(text=erasure.NO_ACCOUNT.message)
    return erasure.subject_of(user)


async def export_download(request: web.Request) -> web.Response:
    subject = await _subject(request, "account.export")
    async with request.app[DB]() as session:
        document = await request.app[PERSONAL_DATA].export(session, subject)
    stamp = utcnow().strftime("%Y%m%d")
    return web.Response(
        text=json.dumps(document, indent=2, ensure_ascii=False),
        content_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="ethos-my-data-{stamp}.json"',
            "Cache-Control": "no-store",
        },
    )


async def _delete_page(
    request: web.Request, subject: DataSubject, status: int = 200, **extra: object
) -> web.Response:
    registry = request.app[PERSONAL_DATA]
    async with request.app[DB]() as session:
        consequences = await registry.preview(session, subject)
        refusals = await erasure.can_delete_account(session, registry, subject)
    return aiohttp_jinja2.render_template(
        "account/delete.html",
        request,
        {"consequences": consequences, "refusals": refusals, "email": subject.email, **extra},
        status=status,
    )


async def delete_form(request: web.Request) -> web.Response:
    return await _delete_page(request, await _subject(request, "account.delete"))


async def delete_submit(request: web.Request) -> web.Response:
    subject = await _subject(request, "account.delete")
    form = await read_form(request)
    async with transaction(request.app) as session:
        refusal, retry_at = await erasure.delete_account(
            session,
            request.app[PERSONAL_DATA],
            subject.user_id,
            form.get("password", ""),
            client_address(request),
        )
    if refusal is not None:
        response = await _delete_page(
            request,
            subject,
            refusal.status,
            message=throttle.throttled_message(throttle.seconds_until(retry_at))
            if retry_at is not None
            else refusal.message,
        )
        if retry_at is not None:
            response.headers["Retry-After"] = str(throttle.seconds_until(retry_at))
        return response
    response = web.HTTPSeeOther(DELETED_PATH)
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def deleted_page(request: web.Request) -> web.Response:
    return aiohttp_jinja2.render_template("account/deleted.html", request, {})


def add_page_routes(app: web.Application) -> None:
    app.router.add_get("/account/export", export_download)
    app.router.add_get("/account/delete", delete_form)
    app.router.add_post("/account/delete", delete_submit)
    app.router.add_get(DELETED_PATH, deleted_page)
