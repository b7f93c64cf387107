"""A small aiohttp adapter for Authlib's (synchronous) authorization server.

Authlib has no aiohttp integration. Requests are read completely on the event loop and
turned into immutable Authlib request objects; Authlib then runs in a worker thread (it
signs ID tokens, which costs CPU) and its database callbacks go back to the loop through
:class:`LoopBridge`, where the async engine does the I/O. The loop never blocks on the
database or on RSA, and Authlib sees ordinary synchronous calls. (The refresh grant, which
thousands of hubs call, does not come here: cloud/oauth/refresh.py answers it on the loop.)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from aiohttp import web
from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.util import await_only

from cloud.authz import Principal

T = TypeVar("T")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
BRIDGE_TIMEOUT_SECONDS = 30


class LoopBridge:
    """Runs database coroutines on the event loop for code running in a worker thread.

    `in_request` uses the request's own session (committed only if Authlib answers with
    success). `defer` queues work for its own transaction after that one has ended, for
    facts that must stick even when the answer is an error (a replayed refresh token
    revokes its family; a device poll is recorded so `slow_down` works). Running it
    afterwards, not beside the open transaction, keeps SQLite from waiting on itself.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, session: AsyncSession, *, on_loop: bool = False
    ) -> None:
        self._loop = loop
        self._session = session
        # True: the work runs on the loop in a greenlet (see `async_run_authlib`).
        self._on_loop = on_loop
        self.deferred: list[Callable[[AsyncSession], Awaitable[object]]] = []

    def in_request(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        if self._on_loop:
            return await_only(work(self._session))
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(
            work(self._session),  # type: ignore[arg-type]
            self._loop,
        )
        return future.result(timeout=BRIDGE_TIMEOUT_SECONDS)

    def defer(self, work: Callable[[AsyncSession], Awaitable[object]]) -> None:
        self.deferred.append(work)

    async def async_run_deferred(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        for work in self.deferred:
            async with sessions() as session, session.begin():
                await work(session)
        self.deferred.clear()


_BRIDGE: ContextVar[LoopBridge] = ContextVar("oauth_loop_bridge")


def bridge() -> LoopBridge:
    """The bridge of the request Authlib is working on (set by `async_run_authlib`)."""
    return _BRIDGE.get()


class ParamsPayload(OAuth2Payload):
    """Query and form parameters together, as Authlib expects them."""

    def __init__(self, params: MultiDict[str]) -> None:
        self._data = {key: params.getone(key) for key in params}
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in params.items():
            datalist[key].append(value)
        self._datalist = datalist

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class AiohttpOAuth2Request(OAuth2Request):
    """What Authlib reads from a form or query request, captured before it runs."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: CIMultiDict[str],
        query: MultiDict[str],
        form: MultiDict[str],
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._query = MultiDictProxy(query)
        self._form = MultiDictProxy(form)
        params = MultiDict(query)
        params.extend(form)
        self.payload = ParamsPayload(params)
        self.family_id: str | None = None  # the token family being issued (set on save)

    @property
    def args(self) -> MultiDictProxy[str]:
        return self._query

    @property
    def form(self) -> MultiDictProxy[str]:
        return self._form


class FormPayload(OAuth2Payload):
    """The parameters of a request that sent them all in its form (no query string)."""

    def __init__(self, form: MultiDictProxy[str]) -> None:
        self._form = form

    @property
    def data(self) -> MultiDictProxy[str]:
        # `get` gives the first value of a repeated field, as ParamsPayload's `data` does.
        return self._form

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._form.items():
            datalist[key].append(value)
        return datalist


class FormTokenRequest:
    """A token request whose parameters all came in the form, read in place.

    What the refresh grant and Authlib's client authentication read of a request
    (`headers`, `form`, `payload`, and `auth_method` written back), without the copies
    and checks of :class:`AiohttpOAuth2Request`: the refresh grant is the request
    thousands of hubs make every few minutes. Authlib's transport check is not needed
    here: the public URI is https in production (the settings insist) and made https in
    development (`public_uri`).
    """

    def __init__(self, headers: CIMultiDictProxy[str], form: MultiDictProxy[str]) -> None:
        self.headers = headers
        self.form = form
        self.payload = FormPayload(form)
        self.auth_method: str | None = None


# What the refresh grant accepts: the light request above, or Authlib's full one.
TokenRequest = AiohttpOAuth2Request | FormTokenRequest


class DictJsonPayload(JsonPayload):
    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    @property
    def data(self) -> dict[str, Any]:
        return self._data


class AiohttpJsonRequest(JsonRequest):
    """A JSON request (client registration) with the bearer principal already resolved."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: CIMultiDict[str],
        data: dict[str, Any],
        principal: Principal,
    ) -> None:
        super().__init__(method, uri, headers)
        self.payload = DictJsonPayload(data)
        self.principal = principal
        self.credential: Any = None


def public_uri(request: web.Request, base_url: str, production: bool) -> str:
    """The URL as the client sees it (behind a TLS proxy the socket may be plain http).

    Authlib refuses plain http except on loopback. Production insists on an https base
    URL (see the settings); in development a LAN address over http is allowed, so the
    check is given the https form of the same URL.
    """
    uri = base_url + request.raw_path
    if not production and uri.startswith("http://"):
        uri = "https://" + uri[len("http://") :]
    return uri


async def async_read_form(request: web.Request) -> MultiDict[str]:
    """The text fields of a posted form; an OAuth `invalid_request` (400) when the body is
    not a readable form (RFC 6749 §3.2: parameters come form-encoded)."""
    form: MultiDict[str] = MultiDict()
    if request.method != "POST":
        return form
    if request.content_type not in FORM_TYPES:
        if not request.body_exists:
            return form
        raise oauth_http_error(
            400,
            "invalid_request",
            "Send the parameters as application/x-www-form-urlencoded.",
        )
    posted = await _async_post(request)
    form.extend((key, value) for key, value in posted.items() if isinstance(value, str))
    return form


async def _async_post(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """aiohttp's parsed form (cached on the request), its errors as OAuth's 400."""
    try:
        return await request.post()
    except (ValueError, LookupError) as err:
        # Undecodable bytes or a multipart body without a boundary (ValueError), an
        # unknown charset (LookupError).
        raise oauth_http_error(
            400,
            "invalid_request",
            "The form could not be read: send it as UTF-8 application/x-www-form-urlencoded.",
        ) from err


async def async_form_token_request(request: web.Request) -> FormTokenRequest | None:
    """The light request of a url-encoded POST without a query string; None otherwise
    (the caller then reads it with `async_form_request`)."""
    if request.method != "POST" or request.query_string or request.content_type != FORM_TYPES[0]:
        return None
    posted = await _async_post(request)
    # A url-encoded form holds text only (files come in multipart bodies).
    return FormTokenRequest(request.headers, cast("MultiDictProxy[str]", posted))


async def async_read_json_object(request: web.Request) -> dict[str, Any] | None:
    """A JSON object body, or None when the body is anything else (or not JSON at all)."""
    if request.content_type != "application/json":
        return None
    try:
        data = json.loads(await request.read())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested beyond reason
        return None
    return data if isinstance(data, dict) else None


async def async_form_request(
    request: web.Request, base_url: str, production: bool
) -> AiohttpOAuth2Request:
    form = await async_read_form(request)
    return AiohttpOAuth2Request(
        request.method,
        public_uri(request, base_url, production),
        CIMultiDict(request.headers),
        MultiDict(request.query),
        form,
    )


def oauth_http_error(status: int, error: str, description: str) -> web.HTTPException:
    """An RFC 6749 §5.2 error body, passed through the error middleware unchanged."""
    body = json.dumps({"error": error, "error_description": description})
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        403: web.HTTPForbidden,
    }
    return classes[status](text=body, content_type="application/json")


@dataclass(frozen=True)
class OAuthResponse:
    """Authlib's (status, body, headers), converted to aiohttp on the event loop."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((value for name, value in self.headers if name.lower() == "location"), None)

    def to_aiohttp(self) -> web.Response:
        headers = CIMultiDict(self.headers)
        headers.setdefault("Cache-Control", "no-store")
        if isinstance(self.body, dict):
            headers["Content-Type"] = "application/json"
            # Bytes, not text: aiohttp would parse the header again for a charset.
            body = json.dumps(self.body).encode()
            return web.Response(status=self.status, body=body, headers=headers)
        return web.Response(status=self.status, text=self.body or "", headers=headers)


def in_bridge_context(current: LoopBridge, work: Callable[[], T]) -> T:
    """Run Authlib work (in a worker thread or a greenlet) with `bridge()` at `current`."""
    token = _BRIDGE.set(current)
    try:
        return work()
    finally:
        _BRIDGE.reset(token)
