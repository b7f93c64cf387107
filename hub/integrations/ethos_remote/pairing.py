"""Pairing browsers at home and handing them the household key (REMOTE.md, "Pairing").

A signed-in person asks the hub's page for a one-time code; the browser that proves it knows
the code (the hello's MAC) is paired to that person and receives the household key wrapped
for its own ECDH key. Removing a browser or a person rotates the household key: the ones
that remain get it anew, the removed ones' keys topics are cleared.

Hellos cost CPU (PBKDF2, once per code, then a MAC per open code): they are checked one at a
time and at most ``HELLO_MAX_PER_MINUTE`` a minute, and a code takes five wrong tries.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from hub.core.callback import callback
from hub.core.hub_data import HubKey
from hub.integrations.ethos_remote.crypto_const import (
    BROWSER_ID_HEX_CHARS,
    HELLO_MAX_PER_MINUTE,
    HELLO_RATE_WINDOW_S,
    MAX_BROWSER_NAME_CHARS,
    MAX_HELLO_BYTES,
    MAX_PAIRED_BROWSERS,
    PAIRING_CODE_LIFETIME,
    PAIRING_CODE_TRIES,
    PAIRING_MAX_OPEN_CODES,
    PAIRING_VERSION,
)
from hub.integrations.ethos_remote.envelope import (
    EnvelopeError,
    HouseholdKey,
    b64decode,
    b64encode,
    compact_json,
    parse_json,
)
from hub.integrations.ethos_remote.handshake import (
    Outgoing,
    check_digits,
    format_code,
    hello_mac,
    keys_topic,
    load_public_point,
    new_pairing_code,
    pairing_key,
    seal_keys_message,
    welcome_mac,
    welcome_topic,
    wrap_key,
)
from hub.integrations.ethos_remote.keystore import PairedBrowser, RemoteKeyStore

if TYPE_CHECKING:
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)
_BROWSER_ID = re.compile(rf"[0-9a-f]{{{BROWSER_ID_HEX_CHARS}}}")
_HELLO_KEYS = frozenset({"v", "browser", "name", "pub", "mac"})
RotationListener = Callable[[HouseholdKey], None]


class PairingError(ValueError):
    """A hello that is refused; the message says why, for a person."""


@dataclass(frozen=True)
class PairingCode:
    """A code to show on the hub's page: ``XXXXX-XXXXX``, good until ``expires_at``."""

    code: str
    expires_at: datetime


@dataclass
class _Code:
    user_id: int
    code: str  # the 10 characters, no dash
    expires_at: datetime
    tries_left: int = PAIRING_CODE_TRIES
    closed: str | None = None  # why it no longer pairs: expired, used, locked
    keys: dict[str, bytes] = field(default_factory=dict)  # pk by hub id (PBKDF2 once)
    paired: PairedBrowser | None = None


@dataclass(frozen=True)
class _Hello:
    browser: str
    name: str
    pub: str
    pub_raw: bytes
    mac: bytes


def _parse_hello(browser_id: str, payload: bytes) -> _Hello:
    if len(payload) > MAX_HELLO_BYTES:
        raise PairingError(f"the hello is {len(payload)} bytes; at most {MAX_HELLO_BYTES}")
    try:
        hello: Any = parse_json(payload, "hello")
    except EnvelopeError as err:
        raise PairingError(str(err)) from err
    if not isinstance(hello, dict) or set(hello) != _HELLO_KEYS:
        raise PairingError("the hello is not v, browser, name, pub, mac")
    if hello["v"] != PAIRING_VERSION or isinstance(hello["v"], bool):
        raise PairingError(f"pairing version {hello['v']!r} is not understood")
    if hello["browser"] != browser_id or not _BROWSER_ID.fullmatch(browser_id):
        raise PairingError("the hello's browser id is malformed or not its topic's")
    name = hello["name"]
    if not isinstance(name, str) or not 0 < len(name) <= MAX_BROWSER_NAME_CHARS:
        raise PairingError(f"the browser's name is 1 to {MAX_BROWSER_NAME_CHARS} characters")
    if not name.isprintable():  # shown on the hub's page: no line breaks or control codes
        raise PairingError("the browser's name has characters that cannot be shown")
    try:
        pub_raw, mac = b64decode(hello["pub"]), b64decode(hello["mac"])
        load_public_point(pub_raw)
    except ValueError as err:
        raise PairingError(f"the hello's public key or MAC is malformed: {err}") from err
    return _Hello(browser_id, name, hello["pub"], pub_raw, mac)


class RemotePairing:
    """Codes, hellos, browsers and rotations; the keys themselves are the key store's."""

    def __init__(
        self,
        keystore: RemoteKeyStore,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keystore = keystore
        self._now = now
        self._monotonic = monotonic
        self._codes: dict[int, _Code] = {}  # the latest code of each person
        self._hello_times: deque[float] = deque()
        self._lock = asyncio.Lock()
        self._listeners: list[RotationListener] = []

    # Codes -----------------------------------------------------------------------
    @callback
    def start_pairing(self, user_id: int) -> PairingCode:
        """A fresh code for ``user_id`` (replacing their earlier one). The oldest person's
        code gives way when ``PAIRING_MAX_OPEN_CODES`` are open."""
        self._expire_codes()
        self._codes.pop(user_id, None)
        while len(self._codes) >= PAIRING_MAX_OPEN_CODES:
            oldest = min(self._codes, key=lambda u: self._codes[u].expires_at)
            del self._codes[oldest]
        code = _Code(user_id, new_pairing_code(), self._now() + PAIRING_CODE_LIFETIME)
        self._codes[user_id] = code
        return PairingCode(format_code(code.code), code.expires_at)

    @callback
    def cancel_pairing(self, user_id: int) -> None:
        self._codes.pop(user_id, None)

    def pairing_result(self, user_id: int) -> PairedBrowser | None:
        """The browser ``user_id``'s latest code paired (with its check digits), if any."""
        code = self._codes.get(user_id)
        return code.paired if code is not None else None

    def _expire_codes(self) -> None:
        now = self._now()
        for user_id, code in list(self._codes.items()):
            if code.expires_at <= now and code.closed is None:
                code.closed = "the pairing code expired; ask the hub for a new one"
            if code.expires_at + PAIRING_CODE_LIFETIME <= now:
                del self._codes[user_id]  # remembered a while to say why it failed

    # Hellos ----------------------------------------------------------------------
    async def async_handle_hello(
        self, hub_id: str, browser_id: str, payload: bytes
    ) -> list[Outgoing]:
        """Pair the browser whose hello arrived on ``…/pair/<browser_id>/hello``: the
        welcome and its keys message. PairingError when the hello is refused."""
        hello = _parse_hello(browser_id, payload)
        async with self._lock:
            self._spend_rate()
            self._expire_codes()
            if not self._codes:
                raise PairingError("no pairing code is open; ask the hub's page for one")
            open_codes = [c for c in self._codes.values() if c.closed is None]
            closed_before = [c for c in self._codes.values() if c.closed is not None]
            for code in open_codes:
                if hmac.compare_digest(hello.mac, await self._async_expected(code, hub_id, hello)):
                    return await self._async_pair(hub_id, code, hello)
            for code in open_codes:  # a guess is a try against every open code
                code.tries_left -= 1
                if code.tries_left <= 0:
                    code.closed = (
                        f"the pairing code was locked after {PAIRING_CODE_TRIES} wrong tries; "
                        "ask the hub's page for a new one"
                    )
            for code in closed_before:
                # Closed before this hello: say why, when it was that code (no try spent).
                if hmac.compare_digest(hello.mac, await self._async_expected(code, hub_id, hello)):
                    raise PairingError(code.closed)
            if len(open_codes) == 1 and open_codes[0].closed is None:
                left = open_codes[0].tries_left
                raise PairingError(f"the pairing code is wrong ({left} tries left)")
            raise PairingError("the pairing code is wrong, expired or already used")

    def _spend_rate(self) -> None:
        now = self._monotonic()
        while self._hello_times and self._hello_times[0] <= now - HELLO_RATE_WINDOW_S:
            self._hello_times.popleft()
        if len(self._hello_times) >= HELLO_MAX_PER_MINUTE:
            raise PairingError("too many pairing attempts; try again in a minute")
        self._hello_times.append(now)

    async def _async_expected(self, code: _Code, hub_id: str, hello: _Hello) -> bytes:
        pk = code.keys.get(hub_id)
        if pk is None:
            loop = asyncio.get_running_loop()
            pk = await loop.run_in_executor(None, pairing_key, code.code, hub_id)
            code.keys[hub_id] = pk
        return hello_mac(pk, hub_id, hello.browser, hello.pub, hello.name)

    async def _async_pair(self, hub_id: str, code: _Code, hello: _Hello) -> list[Outgoing]:
        known = self._keystore.browsers
        earlier = known.get(hello.browser)
        if earlier is not None and earlier.user_id != code.user_id:
            raise PairingError("this browser id is paired to another person")
        if earlier is None and len(known) >= MAX_PAIRED_BROWSERS:
            raise PairingError(f"{MAX_PAIRED_BROWSERS} browsers are paired; remove one first")
        hub_pub_raw = self._keystore.hub_public_key
        browser = PairedBrowser(
            hello.browser,
            hello.name,
            code.user_id,
            hello.pub,
            self._now(),
            check_digits(hub_pub_raw, hello.pub_raw),
        )
        await self._keystore.async_add_browser(browser)
        code.closed, code.paired = "the pairing code was already used", browser
        _LOGGER.info(
            "Paired browser %s (%s) for user %s", browser.browser_id, browser.name, browser.user_id
        )
        hub_pub = b64encode(hub_pub_raw)
        welcome = {
            "v": PAIRING_VERSION,
            "pub": hub_pub,
            "check": browser.check,
            "mac": b64encode(
                welcome_mac(code.keys[hub_id], hub_id, hello.browser, hub_pub, hello.pub)
            ),
        }
        return [
            Outgoing(welcome_topic(hub_id, hello.browser), compact_json(welcome), False),
            self._keys_message(hub_id, browser),
        ]

    # Browsers and rotation --------------------------------------------------------
    def _keys_message(self, hub_id: str, browser: PairedBrowser) -> Outgoing:
        wrap = wrap_key(
            self._keystore.hub_private_key,
            b64decode(browser.public_key),
            hub_id,
            browser.browser_id,
        )
        payload = seal_keys_message(wrap, self._keystore.household_key, hub_id, browser.browser_id)
        return Outgoing(keys_topic(hub_id, browser.browser_id), payload, True)

    def key_messages(self, hub_id: str) -> list[Outgoing]:
        """The retained keys message of every paired browser (after linking, or a restart)."""
        return [self._keys_message(hub_id, b) for b in self._keystore.browsers.values()]

    def browsers(self) -> list[PairedBrowser]:
        return sorted(self._keystore.browsers.values(), key=lambda b: b.paired_at)

    def pairing_check(self, browser_id: str) -> str | None:
        """The 6 check digits both pages showed when ``browser_id`` was paired."""
        browser = self._keystore.browsers.get(browser_id)
        return browser.check if browser is not None else None

    def browser_owner(self, browser_id: str) -> int | None:
        """The hub user a paired browser acts as; None for a browser not paired."""
        browser = self._keystore.browsers.get(browser_id)
        return browser.user_id if browser is not None else None

    @property
    def household_key(self) -> HouseholdKey:
        """The current key: seal with it."""
        return self._keystore.household_key

    def current_keys(self) -> dict[str, HouseholdKey]:
        """The keys a received envelope may be sealed under (``open_sealed``'s first
        argument): only the current one, so a removed browser's old key opens nothing."""
        key = self._keystore.household_key
        return {key.kid: key}

    @callback
    def add_rotation_listener(self, listener: RotationListener) -> Callable[[], None]:
        """Call ``listener(new_key)`` after each rotation (the uplink reseals its snapshot);
        returns the callable that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def async_rotate(self, hub_id: str, removed: tuple[str, ...] = ()) -> list[Outgoing]:
        """A new household key: keys messages for the remaining browsers and an empty
        retained payload clearing each removed browser's keys topic."""
        async with self._lock:
            gone = await self._keystore.async_rotate(removed)
        for listener in list(self._listeners):
            listener(self._keystore.household_key)
        return [Outgoing(keys_topic(hub_id, b.browser_id), b"", True) for b in gone] + (
            self.key_messages(hub_id)
        )

    async def async_remove_browser(self, hub_id: str, browser_id: str) -> list[Outgoing]:
        if browser_id not in self._keystore.browsers:
            return []
        return await self.async_rotate(hub_id, (browser_id,))

    async def async_remove_user(self, hub_id: str, user_id: int) -> list[Outgoing]:
        """Remove every browser of ``user_id`` (and their open code)."""
        self._codes.pop(user_id, None)
        theirs = tuple(b for b, row in self._keystore.browsers.items() if row.user_id == user_id)
        if not theirs:
            return []
        return await self.async_rotate(hub_id, theirs)


_PAIRING: Final[HubKey[asyncio.Future[RemotePairing]]] = HubKey("ethos_remote.pairing")


async def _async_make_pairing(hub: Hub) -> RemotePairing:
    from hub.helpers.secret_box import async_secret_box

    keystore = RemoteKeyStore(hub.storage, await async_secret_box(hub))
    await keystore.async_load()
    return RemotePairing(keystore)


async def async_remote_pairing(hub: Hub) -> RemotePairing:
    """The hub's one RemotePairing, its key store loaded (made by the first caller, the
    others wait for it; its secrets sealed with the hub's secret box)."""
    made = hub.data.get(_PAIRING)
    if made is None:
        made = hub.data[_PAIRING] = asyncio.ensure_future(_async_make_pairing(hub))
    try:
        return await asyncio.shield(made)
    except Exception:
        if hub.data.get(_PAIRING) is made:
            del hub.data[_PAIRING]  # the next caller tries again
        raise
