"""Reading browser forms and running one database transaction per user action.

Every posted form is read once, strictly, by `form_body_middleware`: a body that is not
UTF-8, names a charset we do not read, or is broken multipart gets a 400 that says so,
before any handler (or the CSRF check) sees it. Handlers then read it with `read_form`.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDict, MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.mail.outbox import queued_mail
from cloud.web.keys import DB, MAIL

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
FORM_CHARSETS = frozenset({"utf-8", "ascii"})  # codec names; browsers send UTF-8
# The posted form as read once by `async_check_form_body` (empty when it was unreadable),
# for code that runs after a handler, such as response hooks.
POSTED_FORM = web.RequestKey("ethos_posted_form", MultiDictProxy)


class MalformedForm(ValueError):
    """A form body that cannot be read; the message tells the sender what to fix."""


async def read_form(request: web.Request) -> dict[str, str]:
    """Text fields of a url-encoded or multipart form (files are ignored)."""
    if request.content_type not in FORM_TYPES:
        raise web.HTTPUnsupportedMediaType(text="Send the form from our page.")
    data = await request.post()
    return {key: value for key, value in data.items() if isinstance(value, str)}


def _check_charset(request: web.Request) -> str:
    charset = request.charset or "utf-8"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = ""
    if name not in FORM_CHARSETS:
        raise MalformedForm(f"The form's charset {charset!r} is not supported: send UTF-8.")
    return charset


async def _check_urlencoded(request: web.Request) -> None:
    charset = _check_charset(request)
    try:
        text = (await request.read()).decode(charset)
        if "%" in text:  # only a percent-escape can hide bytes that are not UTF-8
            parse_qsl(text, keep_blank_values=True, encoding=charset, errors="strict")
    except UnicodeDecodeError as err:
        raise MalformedForm("The form is not valid UTF-8 text.") from err


async def _read_multipart(request: web.Request) -> None:
    _check_charset(request)
    try:
        await request.post()
    except web.HTTPException:
        raise  # too large: aiohttp's own 413
    except UnicodeDecodeError as err:
        raise MalformedForm("A field of the form is not valid UTF-8 text.") from err
    except LookupError as err:
        raise MalformedForm("A field of the form names a charset we do not read.") from err
    except (ValueError, RuntimeError, AssertionError, HttpProcessingError) as err:
        # aiohttp's multipart reader reports a missing boundary, a broken part or an
        # unknown transfer encoding with these.
        raise MalformedForm(f"The multipart form could not be read ({err}).") from err


async def async_check_form_body(request: web.Request) -> None:
    """Read a posted form strictly (then cached by aiohttp); MalformedForm if it cannot be."""
    if request.method not in METHODS_WITH_BODY or request.content_type not in FORM_TYPES:
        return
    try:
        if request.content_type == "multipart/form-data":
            await _read_multipart(request)
        else:
            await _check_urlencoded(request)
        request[POSTED_FORM] = await request.post()
    except MalformedForm:
        request[POSTED_FORM] = MultiDictProxy(MultiDict())
        raise


def posted_form(request: web.Request) -> MultiDictProxy:
    """The form this request posted, read strictly before any handler; empty if none."""
    return request.get(POSTED_FORM) or MultiDictProxy(MultiDict())


def malformed_form_error(request: web.Request, message: str) -> web.HTTPBadRequest:
    """The 400 for an unreadable form: RFC 6749's error body at the OAuth endpoints."""
    if request.path.startswith("/oauth/"):
        body = json.dumps({"error": "invalid_request", "error_description": message})
        return web.HTTPBadRequest(text=body, content_type="application/json")
    return web.HTTPBadRequest(text=message)


@asynccontextmanager
async def transaction(app: web.Application) -> AsyncIterator[AsyncSession]:
    """One atomic unit of work; queued mail is dispatched once it has committed."""
    async with app[DB]() as session, session.begin():
        yield session
    if queued_mail(session):
        app[MAIL].wake()
