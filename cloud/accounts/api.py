"""The accounts JSON API: the same operations as the pages, for the mobile web app."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from aiohttp import web
from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import BaseModel, ConfigDict, Field

from cloud.accounts import passwords, service, throttle
from cloud.accounts.models import User
from cloud.accounts.service import EMAIL_MAX, PASSWORD_MAX, PASSWORD_MIN
from cloud.accounts.sessions import sign_in, sign_out
from cloud.api.openapi import ApiRoutes, read_json
from cloud.authz import authorize
from cloud.web.forms import transaction
from cloud.web.keys import DB, SETTINGS
from cloud.web.origin import client_address


def _any_case(word: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


# The document promises what the service checks: an address (as `email-validator` reads
# it: what JSON Schema's "email" format accepts, minus the special-use domains that can
# never receive mail) and, for a new account, a password of usable length. Pydantic
# checks the lengths; the service checks the address.
_NOT_SPECIAL_USE = (
    "^[^@]*@(?!(?:[^@]*[.])?(?:"
    + "|".join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)
    + ")[.]?$)"
)


def _address() -> Any:
    return Field(
        max_length=EMAIL_MAX, json_schema_extra={"format": "email", "pattern": _NOT_SPECIAL_USE}
    )


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = _address()
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class EmailOnly(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = _address()


class Accepted(BaseModel):
    message: str


class MeOut(BaseModel):
    id: int
    email: str
    confirmed: bool
    created_at: datetime
    confirmed_at: datetime | None

    @classmethod
    def of(cls, user: User) -> MeOut:
        assert user.id is not None
        return cls(
            id=user.id,
            email=user.email,
            confirmed=user.confirmed,
            created_at=user.created_at,
            confirmed_at=user.confirmed_at,
        )


def _accepted(message: str) -> web.Response:
    return web.json_response(Accepted(message=message).model_dump(), status=202)


ROUTES = ApiRoutes()


@ROUTES.route(
    "POST",
    "/api/v1/account/signup",
    summary="Create an account (unconfirmed)",
    tag="accounts",
    request=NewAccount,
    response=Accepted,
    status=202,
)
async def api_signup(request: web.Request) -> web.Response:
    body = await read_json(request, NewAccount)
    links = service.Links(request.app[SETTINGS].base_url)
    async with transaction(request.app) as session:
        await service.sign_up(session, links, body.email, body.password)
    return _accepted("If the address can be used, a confirmation link was sent to it.")


@ROUTES.route(
    "POST",
    "/api/v1/account/resend",
    summary="Send the confirmation link again",
    tag="accounts",
    request=EmailOnly,
    response=Accepted,
    status=202,
)
async def api_resend(request: web.Request) -> web.Response:
    body = await read_json(request, EmailOnly)
    links = service.Links(request.app[SETTINGS].base_url)
    async with transaction(request.app) as session:
        await service.resend_confirmation(session, links, body.email)
    return _accepted("If the account waits for confirmation, a new link was sent.")


@ROUTES.route(
    "POST",
    "/api/v1/account/password-reset",
    summary="Mail a password reset link",
    tag="accounts",
    request=EmailOnly,
    response=Accepted,
    status=202,
)
async def api_password_reset(request: web.Request) -> web.Response:
    body = await read_json(request, EmailOnly)
    links = service.Links(request.app[SETTINGS].base_url)
    async with transaction(request.app) as session:
        await passwords.request_password_reset(session, links, body.email)
    return _accepted("A mail with what to do next was sent to that address.")


@ROUTES.route(
    "POST",
    "/api/v1/account/login",
    summary="Sign in (sets the session cookie)",
    tag="accounts",
    request=Credentials,
    response=MeOut,
    errors=(401, 403, 429),
)
async def api_login(request: web.Request) -> web.Response:
    body = await read_json(request, Credentials)
    async with transaction(request.app) as session:
        user, refusal, retry_at = await service.authenticate(
            session, body.email, body.password, client_address(request)
        )
    if user is None:
        assert refusal is not None
        wait = throttle.seconds_until(retry_at) if retry_at is not None else None
        message = refusal.message if wait is None else throttle.throttled_message(wait)
        response = web.json_response(
            {"error": message, "code": refusal.code}, status=refusal.status
        )
        if wait is not None:
            response.headers["Retry-After"] = str(wait)
        return response
    response = web.json_response(MeOut.of(user).model_dump(mode="json"))
    await sign_in(request, response, user)
    return response


@ROUTES.route("POST", "/api/v1/account/logout", summary="Sign out", tag="accounts", status=204)
async def api_logout(request: web.Request) -> web.Response:
    response = web.Response(status=204)
    await sign_out(request, response)
    return response


@ROUTES.route(
    "GET",
    "/api/v1/me",
    summary="The signed-in account",
    tag="accounts",
    response=MeOut,
    auth=True,
    action="account.read",
)
async def api_me(request: web.Request) -> web.Response:
    principal = await authorize(request, "account.read")
    async with request.app[DB]() as session:
        user = await session.get(User, principal.user_id)
    if user is None:
        raise web.HTTPUnauthorized(text="That account no longer exists.")
    return web.json_response(MeOut.of(user).model_dump(mode="json"))
