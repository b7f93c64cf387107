"""Home Assistant MQTT discovery: config topics in, entities and devices out.

Both topic forms are understood: ``<prefix>/<component>/[<node_id>/]<object_id>/config``
and the device form ``<prefix>/device/<object_id>/config`` with a ``cmps`` map.
Bad input is logged once per topic (at most a few lines a minute) and ignored; nothing
already discovered is lost.

Messages of known topics (with entities) are applied in arrival order, latest config
per topic, never dropped. New topics go through admission (``admission.py``): a flood
of them waits or is refused without delaying the known ones. The worker yields to the
event loop after each small batch, so the web UI answers during a burst.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ethos.tasks import async_cancel_and_wait
from hub.const import EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.events import Event
from hub.core.models import DeviceInfo, described
from hub.integrations.mqtt.abbreviations import BASE_TOPIC, expand_config
from hub.integrations.mqtt.admission import SHARED_CLIENT, AdmissionLimits, DiscoveryAdmission
from hub.integrations.mqtt.binary_sensor import MqttBinarySensor
from hub.integrations.mqtt.button import MqttButton
from hub.integrations.mqtt.client import MqttClient, MqttNotConnected, ReceivedMessage
from hub.integrations.mqtt.const import (
    COMPONENTS,
    DISCOVERY_BATCH,
    DISCOVERY_REFUSAL_LOG_S,
    DISCOVERY_WARNINGS_PER_INTERVAL,
    DOMAIN,
    MAX_PAYLOAD_BYTES,
    MAX_QUEUED_DISCOVERY,
)
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.light import MqttLight
from hub.integrations.mqtt.log_throttle import LogThrottle
from hub.integrations.mqtt.number import MqttNumber
from hub.integrations.mqtt.schema import EntityConfig, validate
from hub.integrations.mqtt.select import MqttSelect
from hub.integrations.mqtt.sensor import MqttSensor
from hub.integrations.mqtt.switch import MqttSwitch
from hub.integrations.mqtt.template import new_template_compiler
from hub.integrations.mqtt.validation import ConfigInvalid

if TYPE_CHECKING:
    from hub.core.config_entries import ConfigEntry
    from hub.core.hub import Hub

_LOGGER = logging.getLogger(__name__)

PLATFORMS: dict[str, type[MqttEntity]] = {
    "binary_sensor": MqttBinarySensor,
    "sensor": MqttSensor,
    "switch": MqttSwitch,
    "light": MqttLight,
    "button": MqttButton,
    "number": MqttNumber,
    "select": MqttSelect,
}
_ID = r"[a-zA-Z0-9_-]+"
_CONFIG_TOPIC = re.compile(
    rf"^(?P<component>[a-z_]+)/(?:(?P<node_id>{_ID})/)?(?P<object_id>{_ID})/config$"
)
_DEVICE_COMPONENT = "device"

DiscoveryKey = tuple[str, str]  # (component, discovery id)
# May hold a config back (False) before it replaces or joins a known device's entities:
# (topic, key, raw config, validated config, the entity in force for key or None).
DiscoveryPin = Callable[
    [str, DiscoveryKey, dict[str, Any], EntityConfig, "DiscoveredEntity | None"], bool
]
AdmittedMessage = tuple[str | None, ReceivedMessage]  # (client that paid a token, message)


class DiscoveryError(ValueError):
    """Why a discovery message was ignored (logged once per topic)."""


@dataclass
class DiscoveredEntity:
    discovery_topic: str
    component: str
    discovery_id: str
    entity_id: str
    device_id: str | None
    config: EntityConfig


class MqttDiscovery:
    """Turns retained discovery configs into entities; removing a device clears its topics."""

    def __init__(
        self,
        hub: Hub,
        client: MqttClient,
        entry: ConfigEntry[Any],  # its runtime data is set once setup is done
        prefix: str,
        max_queued: int = MAX_QUEUED_DISCOVERY,
    ) -> None:
        self._hub = hub
        self._client = client
        self._entry = entry
        self.prefix = prefix.strip("/")
        self.templates = new_template_compiler()
        # Latest message per known topic, in arrival order; bounded by the known topics.
        self._known: OrderedDict[str, ReceivedMessage] = OrderedDict()
        self._admission = DiscoveryAdmission(AdmissionLimits(max_waiting=max_queued))
        self._wake = asyncio.Event()
        self._in_flight: set[str] = set()
        self._adding_rows: set[str] = set()  # topics whose message added registry rows
        self._discovered: dict[DiscoveryKey, DiscoveredEntity] = {}
        self._topic_keys: dict[str, set[DiscoveryKey]] = {}
        self._last_payload: dict[str, bytes] = {}  # digest of the last applied config
        self._logged_topics: set[str] = set()
        self._log = LogThrottle(
            _LOGGER,
            "%s more discovery messages ignored (bad configs) in the last %g s",
            DISCOVERY_WARNINGS_PER_INTERVAL,
            DISCOVERY_REFUSAL_LOG_S,
        )
        self._unsubscribes: list[Callable[[], None]] = []
        self._worker: asyncio.Task[None] | None = None
        self.ignored = 0
        self.pin: DiscoveryPin | None = None  # set by ethos_cloud (pin.py)

    @property
    def dropped(self) -> int:
        """New config topics refused because their client's queue was full."""
        return self._admission.refused

    @property
    def waiting(self) -> int:
        """New config topics waiting for their client's turn or tokens."""
        return self._admission.waiting

    # Lifecycle ---------------------------------------------------------------
    async def async_start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(
            self._async_work(), name="mqtt discovery"
        )
        for pattern in (f"{self.prefix}/+/+/config", f"{self.prefix}/+/+/+/config"):
            self._unsubscribes.append(await self._client.async_subscribe(pattern, self._enqueue))
        self._unsubscribes.append(
            self._hub.bus.async_listen(EVENT_DEVICE_REGISTRY_UPDATED, self._on_device_event)
        )

    async def async_stop(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
        await async_cancel_and_wait(self._worker)
        self._log.close()
        self._admission.close()
        for record in list(self._discovered.values()):
            await self._hub.entity_table.async_remove(record.entity_id)
        self._discovered.clear()
        self._topic_keys.clear()

    def _enqueue(self, message: ReceivedMessage) -> None:
        """In the MQTT callback: constant work per message, whatever arrives."""
        topic = message.topic
        if topic in self._topic_keys or topic in self._in_flight:
            self._known[topic] = message
            self._known.move_to_end(topic)  # the latest config goes to the back
        else:
            match = _CONFIG_TOPIC.match(topic[len(self.prefix) + 1 :])
            node_id = match.group("node_id") if match else None
            if not self._admission.offer(node_id or SHARED_CLIENT, message):
                return
        self._wake.set()

    async def _async_work(self) -> None:
        """Known topics first, then new ones as admission allows; a small batch at a time
        (topics in parallel: their subscriptions share one round trip to the broker)."""
        while True:
            await self._async_wait_for_work()
            batch: list[AdmittedMessage] = []
            while self._known and len(batch) < DISCOVERY_BATCH:
                batch.append((None, self._known.popitem(last=False)[1]))
            while len(batch) < DISCOVERY_BATCH and (taken := self._admission.take()):
                batch.append(taken)
            by_topic: dict[str, list[AdmittedMessage]] = {}
            for item in batch:
                by_topic.setdefault(item[1].topic, []).append(item)
            await asyncio.gather(*(self._async_process_in_order(m) for m in by_topic.values()))
            await asyncio.sleep(0)  # whatever else the loop has to do goes first

    async def _async_wait_for_work(self) -> None:
        while True:
            self._wake.clear()
            if self._known:
                return
            wait = self._admission.seconds_until_ready()
            if wait == 0:
                return
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def _async_process_in_order(self, messages: list[AdmittedMessage]) -> None:
        for client, message in messages:
            self._in_flight.add(message.topic)
            try:
                await self.async_process_discovery_message(message.topic, message.payload)
            finally:
                self._in_flight.discard(message.topic)
            if client is not None and message.topic not in self._adding_rows:
                self._admission.give_back(client)  # it added nothing: no token spent
            self._adding_rows.discard(message.topic)

    # Public API ----------------------------------------------------------------
    def discovered(self) -> list[DiscoveredEntity]:
        return list(self._discovered.values())

    async def async_process_discovery_message(self, topic: str, payload: bytes | str) -> None:
        """Apply one discovery message as if it came from the broker; never raises."""
        raw = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            await self._async_process(topic, raw)
        except DiscoveryError as err:
            self.ignored += 1
            if topic not in self._logged_topics and len(self._logged_topics) < 10_000:
                self._logged_topics.add(topic)
                self._log.warn("Ignoring discovery on %s: %s", topic[:200], err)
        except Exception:
            self.ignored += 1
            _LOGGER.exception("Discovery message on %s failed", topic[:200])
        finally:
            if topic not in self._topic_keys:
                self._last_payload.pop(topic, None)  # remembered for known topics only

    # Parsing -----------------------------------------------------------------
    def _parse_topic(self, topic: str) -> tuple[str, str, str]:
        if not topic.startswith(self.prefix + "/"):
            raise DiscoveryError("not under the discovery prefix")
        match = _CONFIG_TOPIC.match(topic[len(self.prefix) + 1 :])
        if match is None:
            raise DiscoveryError("topic is not <component>/[<node_id>/]<object_id>/config")
        component, node_id, object_id = match.group("component", "node_id", "object_id")
        discovery_id = f"{node_id} {object_id}" if node_id else object_id
        return component, object_id, discovery_id

    async def _async_process(self, topic: str, payload: bytes) -> None:
        component, object_id, discovery_id = self._parse_topic(topic)
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise DiscoveryError(f"payload of {len(payload)} bytes is too large")
        digest = hashlib.blake2b(payload, digest_size=16).digest()
        if self._last_payload.get(topic) == digest:
            return  # devices re-send discovery on every hub birth
        old_keys = set(self._topic_keys.get(topic, ()))
        if not payload:
            self._last_payload.pop(topic, None)
            for key in old_keys:
                await self._async_remove(key)
            return
        try:
            data = json.loads(payload)
        except ValueError as err:
            raise DiscoveryError(f"malformed JSON: {err}") from err
        if not isinstance(data, dict):
            raise DiscoveryError("payload must be a JSON object")
        try:
            if component == _DEVICE_COMPONENT:
                configs = self._device_components(data, object_id)
            elif component in COMPONENTS:
                configs = [(component, discovery_id, expand_config(data))]
            else:
                raise DiscoveryError(f"unknown component {component!r}")
        except ValueError as err:
            raise DiscoveryError(str(err)) from err
        self._last_payload[topic] = digest
        new_keys = set()
        problems = []
        for cmp_component, cmp_id, config in configs:
            try:
                new_keys.add(await self._async_apply(topic, cmp_component, cmp_id, config))
            except DiscoveryError as err:
                problems.append(str(err))
        for key in old_keys - new_keys:
            await self._async_remove(key)
        if problems:
            raise DiscoveryError("; ".join(problems))

    def _device_components(
        self, data: dict[str, Any], object_id: str
    ) -> list[tuple[str, str, dict[str, Any]]]:
        shared = expand_config(data)
        components = shared.pop("components", None)
        if not isinstance(components, dict) or not components:
            raise DiscoveryError("device discovery needs a 'cmps' object")
        base = shared.pop(BASE_TOPIC, None)
        result = []
        for cmp_id, raw in components.items():
            if not isinstance(raw, dict):
                raise DiscoveryError(f"component {cmp_id!r} is not an object")
            config = expand_config(raw, inherited_base=base)
            config.pop(BASE_TOPIC, None)
            platform = config.get("platform")
            if platform not in COMPONENTS:
                raise DiscoveryError(f"component {cmp_id!r}: unknown platform {platform!r}")
            if set(config) == {"platform"}:
                continue  # only `p` left: the device removes this component
            result.append((platform, f"{object_id} {cmp_id}", {**shared, **config}))
        return result

    # Entities ----------------------------------------------------------------
    async def _async_apply(
        self,
        topic: str,
        component: str,
        discovery_id: str,
        config: dict[str, Any],
        *,
        pinned: bool = True,
    ) -> DiscoveryKey:
        key = (component, discovery_id)
        try:
            model = validate(component, config)
        except ConfigInvalid as err:
            details = "; ".join(f"{where or component}: {what}" for where, what in err.problems)
            raise DiscoveryError(f"{component} config invalid: {details}") from err
        previous = self._discovered.get(key)
        if pinned and self.pin is not None and not self.pin(topic, key, config, model, previous):
            return key  # held; the pin applies it with async_apply_held once allowed
        if previous is not None and previous.config == model and previous.discovery_topic == topic:
            return key  # unchanged component of a re-sent device config
        device = model.device
        device_name = device.name if device else None
        if "name" in config and config["name"] is None:
            name = device_name  # the entity is the device's main feature
        elif model.name and device_name and not model.name.startswith(device_name):
            name = f"{device_name} {model.name}"
        else:
            name = model.name or device_name or discovery_id.replace(" ", "_")
        try:
            entity = PLATFORMS[component](
                self._client,
                model,
                unique_id=model.unique_id or f"{component}:{discovery_id}",
                name=name,
                object_id=model.object_id or name,
                device_info=self._device_info(model),
                templates=self.templates,
            )
        except ValueError as err:  # a broken template
            raise DiscoveryError(f"{component}: {err}") from err
        previous = self._discovered.pop(key, None)
        if previous is not None:
            self._forget_key(previous.discovery_topic, key)
            await self._hub.entity_table.async_remove(previous.entity_id)
        if self._hub.entities.get_by_unique_id(DOMAIN, entity.unique_id) is None:
            self._adding_rows.add(topic)
        entity_id = await self._hub.entity_table.async_add(entity, self._entry.entry_id)
        self._discovered[key] = DiscoveredEntity(
            topic, component, discovery_id, entity_id, entity.device_id, model
        )
        self._topic_keys.setdefault(topic, set()).add(key)
        return key

    async def async_apply_held(self, topic: str, key: DiscoveryKey, config: dict[str, Any]) -> None:
        """Apply a config the pin held back, now that its device proved itself again."""
        await self._async_apply(topic, key[0], key[1], config, pinned=False)

    def _forget_key(self, topic: str, key: DiscoveryKey) -> None:
        keys = self._topic_keys.get(topic)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._topic_keys[topic]

    @staticmethod
    def _device_info(model: EntityConfig) -> DeviceInfo | None:
        device = model.device
        if device is None or not (device.identifiers or device.connections):
            return None
        ids = DeviceInfo(
            identifiers=tuple(("mqtt", i) for i in device.identifiers),
            connections=tuple((kind, value) for kind, value in device.connections),
        )
        return described(ids, device)

    async def _async_remove(self, key: DiscoveryKey, *, forget: bool = False) -> None:
        record = self._discovered.pop(key, None)
        if record is not None:
            self._forget_key(record.discovery_topic, key)
            await self._hub.entity_table.async_remove(record.entity_id, forget=forget)

    # Device removal ----------------------------------------------------------
    def _on_device_event(self, event: Event) -> None:
        if event.data.get("action") == "remove":
            self._hub.async_create_task(
                self.async_forget_device(event.data["device_id"]), "mqtt forget device"
            )

    async def async_forget_device(self, device_id: str) -> list[str]:
        """Drop the device's entities and clear its retained discovery topics."""
        keys = [k for k, r in self._discovered.items() if r.device_id == device_id]
        topics = sorted({self._discovered[k].discovery_topic for k in keys})
        for key in keys:
            await self._async_remove(key, forget=True)
        for topic in topics:
            self._last_payload.pop(topic, None)
            try:
                await self._client.async_publish(topic, b"", qos=1, retain=True)
            except MqttNotConnected:
                _LOGGER.warning("Could not clear %s: broker unavailable", topic)
        return topics
