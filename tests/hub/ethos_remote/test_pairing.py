"""Pairing at home, the household key's rotation and the key store across restarts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.core.hub import Hub
from hub.core.storage import DocumentStore
from hub.helpers.secret_box import SecretBox
from hub.integrations.ethos_remote.crypto_const import HELLO_MAX_PER_MINUTE, HUB_SENDER
from hub.integrations.ethos_remote.envelope import EnvelopeError, b64encode, seal
from hub.integrations.ethos_remote.handshake import Outgoing, keys_topic, remote_topic
from hub.integrations.ethos_remote.keystore import RemoteKeyStore
from hub.integrations.ethos_remote.pairing import (
    PairingError,
    RemotePairing,
    async_remote_pairing,
)
from tests.hub.common import make_config
from tests.support.remote_browser import RemoteBrowser

HUB = "0123456789abcdef0123456789abcdef"
STATE = remote_topic(HUB, "state")


class Clocks:
    """The wall clock and the monotonic clock pairing reads, moved by the test."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
        self.mono = 1000.0

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


@pytest.fixture
def clocks() -> Clocks:
    return Clocks()


async def open_pairing(folder: Path, clocks: Clocks, box: SecretBox | None = None):
    storage = DocumentStore(folder)
    keystore = RemoteKeyStore(storage, box)
    await keystore.async_load()
    pairing = RemotePairing(keystore, now=lambda: clocks.wall, monotonic=lambda: clocks.mono)
    return storage, pairing


@pytest.fixture
async def pairing(tmp_path: Path, clocks: Clocks) -> AsyncIterator[RemotePairing]:
    storage, pairing = await open_pairing(tmp_path, clocks)
    yield pairing
    await storage.async_close()


def deliver(browser: RemoteBrowser, messages: list[Outgoing]) -> None:
    """What the broker would hand this browser of the hub's answer."""
    for message in messages:
        if message.topic.endswith(f"/pair/{browser.browser_id}/welcome"):
            browser.accept_welcome(message.payload)
        elif message.topic == browser.keys_topic:
            browser.accept_keys(message.payload)


async def pair(pairing: RemotePairing, user_id: int, name: str = "Phone") -> RemoteBrowser:
    code = pairing.start_pairing(user_id).code
    browser = RemoteBrowser(HUB, name)
    deliver(browser, await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(code)))
    return browser


def hub_message(pairing: RemotePairing, counter: int = 1) -> bytes:
    return seal(pairing.household_key, STATE, HUB_SENDER, counter, {"type": "snapshot"})


async def test_a_browser_pairs_with_the_code_and_gets_the_household_key(
    pairing: RemotePairing, clocks: Clocks
) -> None:
    shown = pairing.start_pairing(7)
    assert len(shown.code) == 11 and shown.code[5] == "-"
    assert shown.expires_at == clocks.wall + timedelta(minutes=10)
    browser = RemoteBrowser(HUB, "Firefox on Linux")
    # Typed in lower case, as people do.
    answer = await pairing.async_handle_hello(
        HUB, browser.browser_id, browser.hello(shown.code.lower())
    )
    assert [(m.topic, m.retain) for m in answer] == [
        (f"ethos-home/{HUB}/pair/{browser.browser_id}/welcome", False),
        (keys_topic(HUB, browser.browser_id), True),
    ]
    deliver(browser, answer)
    assert browser.household == pairing.household_key
    paired = pairing.pairing_result(7)
    assert paired is not None and paired.check == browser.check  # both pages show the same
    assert paired.name == "Firefox on Linux" and paired.paired_at == clocks.wall
    assert pairing.browser_owner(browser.browser_id) == 7
    assert pairing.browser_owner("f" * 32) is None
    assert browser.open(STATE, hub_message(pairing)).body == {"type": "snapshot"}


async def test_a_welcome_not_made_with_the_code_is_refused_by_the_browser(
    pairing: RemotePairing,
) -> None:
    code = pairing.start_pairing(1).code
    browser = RemoteBrowser(HUB)
    answer = await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(code))
    forged = json.loads(answer[0].payload) | {"mac": b64encode(bytes(32))}
    with pytest.raises(EnvelopeError, match="not the hub"):
        browser.accept_welcome(json.dumps(forged).encode())


async def test_wrong_codes_spend_tries_and_lock_the_code_after_five(
    pairing: RemotePairing,
) -> None:
    code = pairing.start_pairing(1).code
    wrong = "0000000000" if code.replace("-", "") != "0000000000" else "1111111111"
    for left in (4, 3, 2, 1):
        browser = RemoteBrowser(HUB)
        with pytest.raises(PairingError, match=f"wrong \\({left} tries left\\)"):
            await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(wrong))
    browser = RemoteBrowser(HUB)
    with pytest.raises(PairingError):
        await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(wrong))
    with pytest.raises(PairingError, match="locked after 5 wrong tries"):
        await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(code))
    assert pairing.browsers() == []


async def test_malformed_hellos_are_refused_without_spending_a_try(
    pairing: RemotePairing,
) -> None:
    code = pairing.start_pairing(1).code
    browser = RemoteBrowser(HUB)
    good = json.loads(browser.hello(code))
    bad_payloads = [
        b"not json",
        b"[" * 3000,
        json.dumps(good | {"pub": b64encode(b"\x04" + bytes(64))}).encode(),  # not on the curve
        json.dumps(good | {"browser": "f" * 32}).encode(),  # not its topic's browser
        json.dumps(good | {"name": ""}).encode(),
        json.dumps(good | {"name": "Phone\n\u202eevil"}).encode(),
        json.dumps(good | {"extra": 1}).encode(),
        b" " * 5000,
    ]
    for payload in bad_payloads:
        with pytest.raises(PairingError):
            await pairing.async_handle_hello(HUB, browser.browser_id, payload)
    answer = await pairing.async_handle_hello(HUB, browser.browser_id, json.dumps(good).encode())
    deliver(browser, answer)
    assert browser.household == pairing.household_key


async def test_an_expired_code_is_refused(pairing: RemotePairing, clocks: Clocks) -> None:
    code = pairing.start_pairing(1).code
    clocks.advance(10 * 60)
    browser = RemoteBrowser(HUB)
    with pytest.raises(PairingError, match="expired"):
        await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(code))


async def test_a_used_code_does_not_pair_a_second_browser(pairing: RemotePairing) -> None:
    code = pairing.start_pairing(1).code
    first = RemoteBrowser(HUB)
    await pairing.async_handle_hello(HUB, first.browser_id, first.hello(code))
    second = RemoteBrowser(HUB)
    with pytest.raises(PairingError, match="already used"):
        await pairing.async_handle_hello(HUB, second.browser_id, second.hello(code))
    assert [b.browser_id for b in pairing.browsers()] == [first.browser_id]


async def test_a_new_code_replaces_the_persons_earlier_one(pairing: RemotePairing) -> None:
    old = pairing.start_pairing(1).code
    new = pairing.start_pairing(1).code
    browser = RemoteBrowser(HUB)
    with pytest.raises(PairingError):
        await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(old))
    deliver(browser, await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(new)))
    assert browser.household is not None


async def test_a_flood_of_hellos_is_bounded_per_minute(
    pairing: RemotePairing, clocks: Clocks
) -> None:
    code = pairing.start_pairing(1).code
    flooder = RemoteBrowser(HUB)
    junk = flooder.hello("0000000000")  # well formed, wrong code: each one is checked
    refusals = []
    for _ in range(HELLO_MAX_PER_MINUTE + 20):
        with pytest.raises(PairingError) as refused:
            await pairing.async_handle_hello(HUB, flooder.browser_id, junk)
        refusals.append(str(refused.value))
    too_many = [r for r in refusals if "too many pairing attempts" in r]
    assert len(too_many) == 20 and refusals[HELLO_MAX_PER_MINUTE:] == too_many
    clocks.advance(61)
    fresh = pairing.start_pairing(2).code  # the flood locked the first code
    browser = RemoteBrowser(HUB)
    deliver(
        browser, await pairing.async_handle_hello(HUB, browser.browser_id, browser.hello(fresh))
    )
    assert browser.household == pairing.household_key
    assert code  # the first code was spent by the flood, never by its owner


async def test_removing_a_browser_rotates_the_key_for_the_others_only(
    pairing: RemotePairing,
) -> None:
    kept, removed = await pair(pairing, 1, "Laptop"), await pair(pairing, 2, "Phone")
    old_key = pairing.household_key
    messages = await pairing.async_remove_browser(HUB, removed.browser_id)
    assert Outgoing(removed.keys_topic, b"", True) in messages
    assert pairing.household_key.kid != old_key.kid
    for browser in (kept, removed):
        deliver(browser, messages)
    assert removed.household is None  # its keys topic was cleared
    assert kept.household == pairing.household_key
    new_message = hub_message(pairing, counter=2)
    assert kept.open(STATE, new_message).counter == 2
    # Even a removed browser that kept the old key cannot read what comes after.
    removed.household = old_key
    with pytest.raises(EnvelopeError, match="unknown key"):
        removed.open(STATE, new_message)
    assert pairing.browser_owner(removed.browser_id) is None
    assert await pairing.async_remove_browser(HUB, removed.browser_id) == []


async def test_removing_a_person_removes_all_their_browsers(pairing: RemotePairing) -> None:
    a1, a2, b = await pair(pairing, 1), await pair(pairing, 1), await pair(pairing, 2)
    messages = await pairing.async_remove_user(HUB, 1)
    cleared = {m.topic for m in messages if m.payload == b""}
    assert cleared == {a1.keys_topic, a2.keys_topic}
    assert [x.browser_id for x in pairing.browsers()] == [b.browser_id]
    assert await pairing.async_remove_user(HUB, 1) == []


async def test_rotation_tells_listeners_and_reissues_every_keys_message(
    pairing: RemotePairing,
) -> None:
    browser = await pair(pairing, 1)
    heard = []
    stop = pairing.add_rotation_listener(heard.append)
    messages = await pairing.async_rotate(HUB)
    assert heard == [pairing.household_key]
    deliver(browser, messages)
    assert browser.household == pairing.household_key
    stop()
    await pairing.async_rotate(HUB)
    assert len(heard) == 1
    assert [m.topic for m in pairing.key_messages(HUB)] == [browser.keys_topic]


@pytest.mark.parametrize("sealed", [False, True])
async def test_keys_and_browsers_survive_a_restart(
    tmp_path: Path, clocks: Clocks, sealed: bool
) -> None:
    box = SecretBox.load_or_create(tmp_path / "box.key") if sealed else None
    storage, pairing = await open_pairing(tmp_path / "storage", clocks, box)
    browser = await pair(pairing, 3, "Tablet")
    messages = await pairing.async_rotate(HUB)
    deliver(browser, messages)
    key = pairing.household_key
    await storage.async_close()

    stored = (tmp_path / "storage" / "ethos_remote.keys.json").read_text()
    assert (b64encode(key.secret) in stored) is not sealed

    storage, again = await open_pairing(tmp_path / "storage", clocks, box)
    try:
        assert again.household_key == key
        assert again.browser_owner(browser.browser_id) == 3
        assert [b.name for b in again.browsers()] == ["Tablet"]
        # The restarted hub's keys message still unwraps: its ECDH key was kept too.
        deliver(browser, again.key_messages(HUB))
        assert browser.household == key
    finally:
        await storage.async_close()


async def test_the_hub_has_one_pairing_whose_secrets_are_sealed(tmp_path: Path) -> None:
    hub = Hub(make_config(tmp_path))
    first, second = await asyncio.gather(async_remote_pairing(hub), async_remote_pairing(hub))
    assert first is second is await async_remote_pairing(hub)
    browser = await pair(first, 1)
    await hub.storage.async_close()
    stored = (hub.config.hub_dir / "storage" / "ethos_remote.keys.json").read_text()
    assert b64encode(first.household_key.secret) not in stored
    assert json.loads(stored)["data"]["browsers"][0]["browser_id"] == browser.browser_id


JUNK = [None, True, 0, -1, 1.5, "", "x" * 200, [], {}, "AAAA", "@@", "0" * 32, 2**70]


async def test_any_hello_is_answered_or_refused_with_a_pairing_error(
    pairing: RemotePairing,
) -> None:
    pairing.start_pairing(1)
    browser = RemoteBrowser(HUB)
    good = json.loads(browser.hello("0000000000"))
    payloads = [json.dumps(good | {field: junk}).encode() for field in good for junk in JUNK]
    payloads += [
        json.dumps({k: v for k, v in good.items() if k != field}).encode() for field in good
    ]
    payloads += [b"", b"\x00" * 10, b"{}", b"null", '{"v":1,"name":"\u00e9"}'.encode("latin-1")]
    for payload in payloads:
        with pytest.raises(PairingError):
            await pairing.async_handle_hello(HUB, browser.browser_id, payload)
    for browser_id in ("", "F" * 32, "../#", "0" * 33):
        with pytest.raises(PairingError):
            await pairing.async_handle_hello(HUB, browser_id, json.dumps(good).encode())
