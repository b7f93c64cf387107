"""Pinned discovery: a verified Ethos device's entities change only after a fresh claim proof.

Once a device has proved its claim secret, the hub records a fingerprint of every discovery
config in force for it (``extra["ethos_pin"]`` on the registry device, so it survives a
restart). A later config that differs, or a new entity that names the device's identifier
``ethos:<serial>``, is held instead of applied, and the hub challenges the device again:

* published under the device's own discovery topics (``<prefix>/<component>/<serial>/...``,
  the only ones its broker role may write), it is applied once the device answers the fresh
  challenge, if the broker enforces identity (otherwise anyone could have written there, and
  the device's answer would not show who did: it stays held);
* published anywhere else it cannot come from the device, whatever the device answers, so it
  stays held (a proof that the device is present says nothing about who sent this config).

Held configs and the reasons are listed on the device page. Deleting a config (an empty
payload) is not pinned; under broker-enforced identity only the device and the hub can.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hub.const import EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.callback import callback
from hub.core.events import Event
from hub.helpers.ethos_serial import serial_from_identifier, serial_of
from hub.integrations.ethos_cloud.const import EXTRA_KEY, PIN_EXTRA_KEY
from hub.integrations.ethos_cloud.runtime import cloud_runtime
from hub.integrations.mqtt.runtime import mqtt_runtime
from hub.integrations.mqtt.schema import as_json

if TYPE_CHECKING:
    from hub.core.hub import Hub
    from hub.core.models import DeviceRow
    from hub.integrations.mqtt.discovery import DiscoveredEntity, DiscoveryKey, MqttDiscovery
    from hub.integrations.mqtt.schema import EntityConfig

_LOGGER = logging.getLogger(__name__)
MAX_HELD = 200  # across all devices: junk cannot grow memory
SNAPSHOT_DELAY_S = 1.0


@dataclass
class HeldConfig:
    topic: str
    key: DiscoveryKey
    config: dict[str, Any]
    serial: str
    device_id: str
    reason: str
    releasable: bool  # published under the device's own topics: a fresh claim releases it
    since: str

    def summary(self) -> dict[str, Any]:
        return {
            "entity": f"{self.key[0]} {self.key[1]}",
            "topic": self.topic,
            "reason": self.reason,
            "since": self.since,
        }


def _fingerprint(topic: str, model: EntityConfig) -> str:
    text = json.dumps({"topic": topic, "config": as_json(model)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _key_text(key: DiscoveryKey) -> str:
    return f"{key[0]}|{key[1]}"


def _node_id(topic: str) -> str | None:
    """``<prefix...>/<component>/<node_id>/<object_id>/config`` -> node_id."""
    parts = topic.split("/")
    return parts[-3] if len(parts) >= 5 and parts[-1] == "config" else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class DiscoveryPin:
    """Installed as ``MqttDiscovery.pin``; decides per config, releases after a fresh claim."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._held: dict[DiscoveryKey, HeldConfig] = {}
        self._rechecking: set[str] = set()
        self._snapshots: set[str] = set()
        self._again: set[str] = set()
        self._unsubscribe: Callable[[], None] | None = None

    @callback
    def async_start(self) -> None:
        self._unsubscribe = self._hub.bus.async_listen(
            EVENT_DEVICE_REGISTRY_UPDATED, self._on_registry_event
        )

    @callback
    def async_stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def held(self, device_id: str | None = None) -> list[HeldConfig]:
        return [h for h in self._held.values() if device_id in (None, h.device_id)]

    # The decision ------------------------------------------------------------
    def __call__(
        self,
        topic: str,
        key: DiscoveryKey,
        config: dict[str, Any],
        model: EntityConfig,
        previous: DiscoveredEntity | None,
    ) -> bool:
        fingerprint: str | None = None  # only verified devices' configs need one
        for serial, device in self._verified_devices_involved(key, model, previous):
            note = device.extra.get(PIN_EXTRA_KEY) or {}
            if "configs" not in note:
                # Verified, not pinned yet (its first announcement is still arriving, or it
                # was verified before pins existed): what is in force now gets pinned.
                self._request_snapshot(device.id)
                continue
            pinned = note["configs"]
            fingerprint = fingerprint or _fingerprint(topic, model)
            if pinned.get(_key_text(key)) == fingerprint:
                continue
            self._hold(topic, key, config, serial, device, known=_key_text(key) in pinned)
            return False
        self._held.pop(key, None)  # whatever was held for this entity is superseded
        return True

    def _verified_devices_involved(
        self, key: DiscoveryKey, model: EntityConfig, previous: DiscoveredEntity | None
    ) -> list[tuple[str, DeviceRow]]:
        identifiers = model.device.identifiers if model.device else []
        serials = {serial_from_identifier(i) for i in identifiers} - {None}
        involved = []
        for device in self._hub.devices.async_all():
            if not (device.extra.get(EXTRA_KEY) or {}).get("verified"):
                continue
            serial = serial_of(device.identifiers)
            if serial is None:
                continue
            pinned = (device.extra.get(PIN_EXTRA_KEY) or {}).get("configs") or {}
            owns_entity = previous is not None and previous.device_id == device.id
            if serial in serials or owns_entity or _key_text(key) in pinned:
                involved.append((serial, device))
        return involved

    def _hold(
        self,
        topic: str,
        key: DiscoveryKey,
        config: dict[str, Any],
        serial: str,
        device: DeviceRow,
        known: bool,
    ) -> None:
        own_topic = _node_id(topic) == serial
        releasable = own_topic and self._broker_enforces_identity()
        if own_topic and not releasable:
            reason = (
                "changed or new discovery while the broker does not enforce identity: anyone "
                "could have sent it, and a fresh claim would not show who did, so it is not "
                "applied (remove the device to accept its current announcement)"
            )
        elif not releasable:
            reason = (
                f"claims to belong to {serial} but was published outside its own discovery "
                f"topics ({topic}); an Ethos device announces itself only under its serial, "
                "so this is not applied"
            )
        elif known:
            reason = "changed discovery config: held until the device answers a fresh claim"
        else:
            reason = "new entity for a verified device: held until it answers a fresh claim"
        if key not in self._held and len(self._held) >= MAX_HELD:
            self._held.pop(next(iter(self._held)))
        self._held[key] = HeldConfig(
            topic, key, config, serial, device.id, reason, releasable, _now()
        )
        # A device's first announcement races its first proof: those holds are routine.
        log = _LOGGER.info if releasable and not known else _LOGGER.warning
        log("Holding discovery on %s for %s: %s", topic[:200], serial, reason)
        self._hub.async_create_task(self._async_save(device.id), "ethos pin note")
        if releasable:
            self._request_recheck(device.id)

    def _request_snapshot(self, device_id: str) -> None:
        if device_id not in self._snapshots:
            self._snapshots.add(device_id)
            self._hub.async_create_task(self._async_snapshot(device_id), "ethos pin snapshot")

    async def _async_snapshot(self, device_id: str) -> None:
        try:
            await asyncio.sleep(SNAPSHOT_DELAY_S)  # let the rest of the announcement land
            await self.async_device_verified(device_id)
        finally:
            self._snapshots.discard(device_id)

    # A fresh claim -----------------------------------------------------------
    def _request_recheck(self, device_id: str) -> None:
        if device_id in self._rechecking:
            self._again.add(device_id)
            return
        self._rechecking.add(device_id)
        self._hub.async_create_task(self._async_recheck(device_id), "ethos pin recheck")

    async def _async_recheck(self, device_id: str) -> None:
        try:
            while True:
                self._again.discard(device_id)
                runtime = cloud_runtime(self._hub)
                if runtime is None:
                    await self._async_note_failure(
                        device_id, "link the hub to the store so the device can be checked"
                    )
                    return
                result = await runtime.adoption.async_recheck(device_id)
                if result is not None and result.verified:
                    await self.async_device_verified(device_id)
                elif result is not None:
                    await self._async_note_failure(device_id, result.reason)
                if device_id not in self._again:
                    return
        finally:
            self._rechecking.discard(device_id)

    def _on_registry_event(self, event: Event) -> None:
        if event.data.get("extra") != EXTRA_KEY:
            return
        device = self._hub.devices.get(event.data.get("device_id", ""))
        if device is None or not (device.extra.get(EXTRA_KEY) or {}).get("verified"):
            return
        if "configs" in (device.extra.get(PIN_EXTRA_KEY) or {}):
            self._hub.async_create_task(self.async_device_verified(device.id), "ethos pin")
        else:  # first proof: pin once the announcement that triggered it has landed
            self._request_snapshot(device.id)

    async def async_device_verified(self, device_id: str) -> None:
        """The device just proved itself: apply what it published, then pin what is in force."""
        discovery = self._discovery()
        if discovery is None:
            return
        for key, held in list(self._held.items()):
            if held.device_id == device_id and held.releasable and self._held.get(key) is held:
                del self._held[key]
                _LOGGER.info("Applying held discovery on %s: fresh claim verified", held.topic)
                await discovery.async_apply_held(held.topic, key, held.config)
        configs = {
            _key_text((e.component, e.discovery_id)): _fingerprint(e.discovery_topic, e.config)
            for e in discovery.discovered()
            if e.device_id == device_id
        }
        await self._async_save(device_id, configs)

    async def _async_note_failure(self, device_id: str, why: str) -> None:
        for held in self._held.values():
            if held.device_id == device_id and held.releasable:
                held.reason = f"held: the device did not prove itself again ({why})"
        await self._async_save(device_id)

    def _broker_enforces_identity(self) -> bool:
        runtime = mqtt_runtime(self._hub)
        return runtime is not None and runtime.identity.enforced

    # Storage -----------------------------------------------------------------
    def _discovery(self) -> MqttDiscovery | None:
        runtime = mqtt_runtime(self._hub)
        return runtime.discovery if runtime is not None else None

    async def _async_save(self, device_id: str, configs: dict[str, str] | None = None) -> None:
        device = self._hub.devices.get(device_id)
        if device is None:
            return
        current = device.extra.get(PIN_EXTRA_KEY) or {}
        note = {
            "configs": (current.get("configs") or {}) if configs is None else configs,
            "held": [h.summary() for h in self.held(device_id)],
        }
        await self._hub.devices.async_set_extra(device_id, PIN_EXTRA_KEY, note)
