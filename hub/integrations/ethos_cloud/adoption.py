"""Verified adoption: a discovered device that claims an owned serial must prove it.

The hub publishes a fresh random nonce on ``ethos/<serial>/claim/challenge`` and waits for
hex HMAC-SHA256(claim_secret, nonce) on ``ethos/<serial>/claim/response``. Only a live,
non-retained answer that matches (compared in constant time) adopts the device. A replayed
answer was computed over an older nonce and does not match; a spoofed device without the
secret cannot compute it; a device whose serial the linked account does not own is never
challenged. The result, with its reason, is written on the registry device
(``extra["ethos"]``) so the device page can say owner and verified/unverified.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ethos.tasks import async_cancel_and_wait
from hub.const import (
    EVENT_DEVICE_REGISTRY_UPDATED,
    EVENT_HUB_STARTED,
    EVENT_STATE_CHANGED,
    STATE_UNAVAILABLE,
)
from hub.core.callback import callback
from hub.core.events import Event
from hub.core.models import DeviceRow
from hub.helpers.ethos_serial import serial_of
from hub.integrations.ethos_cloud.const import (
    CLAIM_ANSWER_MAX_BYTES,
    CLAIM_NONCE_BYTES,
    CLAIM_RETRY_S,
    CLAIM_TIMEOUT_S,
    EXTRA_KEY,
)
from hub.integrations.ethos_cloud.models import OwnedDevice
from hub.integrations.mqtt.request import MqttRequest
from hub.integrations.mqtt.runtime import mqtt_runtime

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.integrations.ethos_cloud.sync import OwnedDevicesSync

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adoption:
    """What the hub concluded about one device (stored as a dict on the registry row)."""

    serial: str
    adopted: bool
    verified: bool
    reason: str
    owner: str | None = None
    product: str | None = None
    checked_at: str = ""

    def as_extra(self) -> dict[str, Any]:
        return asdict(self)


def ethos_serial(device: DeviceRow) -> str | None:
    """The serial from the device's ``ethos:<serial>`` identifier, if it is a valid one."""
    return serial_of(device.identifiers)


def expected_answer(claim_secret: bytes, nonce: bytes) -> str:
    return hmac.new(claim_secret, nonce, hashlib.sha256).hexdigest()


class AdoptionManager:
    """Challenges devices that claim an owned serial; records adopted/unverified + reason."""

    def __init__(self, hub: Hub, sync: OwnedDevicesSync, claim_timeout: float = CLAIM_TIMEOUT_S):
        self._hub = hub
        self._sync = sync
        self.claim_timeout = claim_timeout
        self._in_flight: dict[str, asyncio.Task] = {}
        self._retry_handles: dict[str, asyncio.TimerHandle] = {}
        self._again: set[str] = set()
        self._unsubscribes: list[Callable[[], None]] = []

    @callback
    def async_start(self) -> None:
        bus = self._hub.bus
        self._unsubscribes += [
            bus.async_listen(EVENT_DEVICE_REGISTRY_UPDATED, self._on_registry_event),
            bus.async_listen(EVENT_HUB_STARTED, lambda _event: self.async_check_all()),
            bus.async_listen(EVENT_STATE_CHANGED, self._on_state_changed),
            self._sync.async_listen(self.async_check_all),
        ]
        self.async_check_all()

    async def async_stop(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
        for handle in self._retry_handles.values():
            handle.cancel()
        self._retry_handles.clear()
        await async_cancel_and_wait(*self._in_flight.values())

    # Triggers ------------------------------------------------------------------
    def _on_registry_event(self, event: Event) -> None:
        if event.data.get("action") not in ("create", "update") or "extra" in event.data:
            return  # our own notes (and everyone's extra) do not trigger a new check
        device = self._hub.devices.get(event.data["device_id"])
        if device is None:
            return
        current = device.extra.get(EXTRA_KEY) or {}
        if not current.get("verified"):
            self.async_check(device.id)

    def _on_state_changed(self, event: Event) -> None:
        """A device that was offline when it was checked is checked again when it is back
        (its discovery is unchanged, so the registry says nothing)."""
        old, new = event.data.get("old_state"), event.data.get("new_state")
        if old is None or new is None or old.state != STATE_UNAVAILABLE:
            return
        if new.state == STATE_UNAVAILABLE:
            return
        row = self._hub.entities.get(event.data["entity_id"])
        device = self._hub.devices.get(row.device_id) if row and row.device_id else None
        if device is None or ethos_serial(device) is None:
            return
        if not (device.extra.get(EXTRA_KEY) or {}).get("verified"):
            self.async_check(device.id)

    @callback
    def async_check_all(self) -> None:
        """Check every device that names an Ethos serial (owned set changed, hub started)."""
        for device in self._hub.devices.async_all():
            if ethos_serial(device) is not None:
                current = device.extra.get(EXTRA_KEY) or {}
                serial_owned = ethos_serial(device) in self._sync.owned
                if not current.get("verified") or not serial_owned:
                    self.async_check(device.id)

    @callback
    def async_check(self, device_id: str) -> asyncio.Task | None:
        """Start (or join) the check of one device; returns its task."""
        running = self._in_flight.get(device_id)
        if running is not None:
            # Something changed while it ran (e.g. the device came online after the
            # challenge went out): check once more when this check is done.
            self._again.add(device_id)
            return running
        handle = self._retry_handles.pop(device_id, None)
        if handle is not None:
            handle.cancel()
        task = self._hub.async_create_task(self._async_check(device_id), "ethos claim check")
        self._in_flight[device_id] = task
        task.add_done_callback(lambda _task: self._check_done(device_id))
        return task

    async def async_recheck(self, device_id: str) -> Adoption | None:
        """A challenge that starts now, after any check already running (whose challenge
        may predate what the caller wants proved); its result."""
        running = self._in_flight.get(device_id)
        if running is not None:
            await asyncio.wait([running])
        task = self.async_check(device_id)
        return await asyncio.shield(task) if task is not None else None

    def _check_done(self, device_id: str) -> None:
        self._in_flight.pop(device_id, None)
        if device_id in self._again and self._unsubscribes:  # not when stopping
            self._again.discard(device_id)
            self.async_check(device_id)

    # The check -------------------------------------------------------------------
    async def _async_check(self, device_id: str) -> Adoption | None:
        device = self._hub.devices.get(device_id)
        serial = ethos_serial(device) if device else None
        if device is None or serial is None:
            return None
        owner = self._sync.account_email
        owned = self._sync.owned.get(serial)
        if owned is None and not self._sync.knows_owned:
            return None  # no list yet: the first answer from the store triggers the check
        if owned is None:
            result = Adoption(
                serial,
                adopted=False,
                verified=False,
                reason=f"not a device of the linked account ({owner or 'no account'})",
                checked_at=_now(),
            )
        else:
            result = await self._async_challenge(serial, owned, owner)
        await self._hub.devices.async_set_extra(device_id, EXTRA_KEY, result.as_extra())
        if result.adopted:
            _LOGGER.info("Adopted %s (%s): claim proof verified", serial, device_id)
        else:
            _LOGGER.warning("Not adopting %s: %s", serial, result.reason)
            if owned is not None:
                loop = asyncio.get_running_loop()
                self._retry_handles[device_id] = loop.call_later(
                    CLAIM_RETRY_S, self.async_check, device_id
                )
        return result

    async def _async_challenge(
        self, serial: str, owned: OwnedDevice, owner: str | None
    ) -> Adoption:
        def unverified(reason: str) -> Adoption:
            return Adoption(serial, False, False, reason, owner, owned.name, _now())

        runtime = mqtt_runtime(self._hub)
        if runtime is None or not runtime.client.connected.is_set():
            return unverified("cannot check: the MQTT broker is not connected")
        client = runtime.client
        nonce = secrets.token_hex(CLAIM_NONCE_BYTES).encode("ascii")
        expected = expected_answer(owned.secret_bytes, nonce)
        base = f"ethos/{serial}/claim"
        wrong = 0
        async with MqttRequest(
            client, f"{base}/response", max_bytes=CLAIM_ANSWER_MAX_BYTES
        ) as request:
            try:
                await client.async_publish(f"{base}/challenge", nonce, qos=1)
                async for answer in request.replies(self.claim_timeout):
                    text = answer.decode("ascii", "replace").strip().lower()
                    if hmac.compare_digest(text.encode("ascii", "replace"), expected.encode()):
                        return Adoption(
                            serial, True, True, "claim proof verified", owner, owned.name, _now()
                        )
                    wrong += 1
            except Exception as err:  # broker went away mid-check: report, retry later
                return unverified(f"cannot check: {err}")
        if wrong:
            return unverified(
                "wrong answer to the claim challenge: this device does not hold the claim "
                "secret of the unit sold with this serial"
            )
        return unverified(f"no answer to the claim challenge within {self.claim_timeout:g} s")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
