"""Home Assistant MQTT discovery: config topics in, entities and devices out.

Both topic forms are understood: ``<prefix>/<component>/[<node_id>/]<object_id>/config``
and the device form ``<prefix>/device/<object_id>/config`` with a ``cmps`` map.
Bad input is logged once per topic and ignored; nothing already discovered is lost.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ethos.tasks import async_cancel_and_wait
from hub.const import EVENT_DEVICE_REGISTRY_UPDATED
from hub.core.entity import DeviceInfo
from hub.core.events import Event
from hub.integrations.mqtt.abbreviations import BASE_TOPIC, expand_config
from hub.integrations.mqtt.binary_sensor import MqttBinarySensor
from hub.integrations.mqtt.button import MqttButton
from hub.integrations.mqtt.client import MqttClient, MqttNotConnected, ReceivedMessage
from hub.integrations.mqtt.const import (
    COMPONENTS,
    DISCOVERY_BATCH,
    MAX_PAYLOAD_BYTES,
    MAX_QUEUED_DISCOVERY,
)
from hub.integrations.mqtt.entity import MqttEntity
from hub.integrations.mqtt.light import MqttLight
from hub.integrations.mqtt.number import MqttNumber
from hub.integrations.mqtt.schema import CONFIG_MODELS, EntityConfig
from hub.integrations.mqtt.select import MqttSelect
from hub.integrations.mqtt.sensor import MqttSensor
from hub.integrations.mqtt.switch import MqttSwitch

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
        entry: ConfigEntry,
        prefix: str,
        max_queued: int = MAX_QUEUED_DISCOVERY,
    ) -> None:
        self._hub = hub
        self._client = client
        self._entry = entry
        self.prefix = prefix.strip("/")
        self._queue: asyncio.Queue[ReceivedMessage] = asyncio.Queue(max_queued)
        self._discovered: dict[DiscoveryKey, DiscoveredEntity] = {}
        self._last_payload: dict[str, bytes] = {}
        self._logged_topics: set[str] = set()
        self._unsubscribes: list[Callable[[], None]] = []
        self._worker: asyncio.Task | None = None
        self.dropped = 0
        self.ignored = 0
        self.pin: DiscoveryPin | None = None  # set by ethos_cloud (pin.py)

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
        for record in list(self._discovered.values()):
            await self._hub.entity_table.async_remove(record.entity_id)
        self._discovered.clear()

    def _enqueue(self, message: ReceivedMessage) -> None:
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _async_work(self) -> None:
        """Take what has queued up; topics in parallel (their subscriptions share one
        round trip to the broker), each topic's messages in order."""
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < DISCOVERY_BATCH:
                batch.append(self._queue.get_nowait())
            by_topic: dict[str, list[ReceivedMessage]] = {}
            for message in batch:
                by_topic.setdefault(message.topic, []).append(message)
            await asyncio.gather(*(self._async_process_in_order(m) for m in by_topic.values()))

    async def _async_process_in_order(self, messages: list[ReceivedMessage]) -> None:
        for message in messages:
            await self.async_process_discovery_message(message.topic, message.payload)

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
                _LOGGER.warning("Ignoring discovery on %s: %s", topic[:200], err)
        except Exception:
            self.ignored += 1
            _LOGGER.exception("Discovery message on %s failed", topic[:200])

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
        if self._last_payload.get(topic) == payload:
            return  # devices re-send discovery on every hub birth
        old_keys = {k for k, r in self._discovered.items() if r.discovery_topic == topic}
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
        self._last_payload[topic] = payload
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
            model = CONFIG_MODELS[component].model_validate(config)
        except ValidationError as err:
            details = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or component}: {e['msg']}" for e in err.errors()
            )
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
            )
        except ValueError as err:  # a broken template
            raise DiscoveryError(f"{component}: {err}") from err
        previous = self._discovered.pop(key, None)
        if previous is not None:
            await self._hub.entity_table.async_remove(previous.entity_id)
        entity_id = await self._hub.entity_table.async_add(entity, self._entry.entry_id)
        self._discovered[key] = DiscoveredEntity(
            topic, component, discovery_id, entity_id, entity.device_id, model
        )
        return key

    async def async_apply_held(self, topic: str, key: DiscoveryKey, config: dict[str, Any]) -> None:
        """Apply a config the pin held back, now that its device proved itself again."""
        await self._async_apply(topic, key[0], key[1], config, pinned=False)

    @staticmethod
    def _device_info(model: EntityConfig) -> DeviceInfo | None:
        device = model.device
        if device is None or not (device.identifiers or device.connections):
            return None
        return DeviceInfo(
            identifiers=tuple(("mqtt", i) for i in device.identifiers),
            connections=tuple((kind, value) for kind, value in device.connections),
            name=device.name,
            manufacturer=device.manufacturer,
            model=device.model,
            sw_version=device.sw_version,
            hw_version=device.hw_version,
            suggested_area=device.suggested_area,
            configuration_url=device.configuration_url,
        )

    async def _async_remove(self, key: DiscoveryKey, *, forget: bool = False) -> None:
        record = self._discovered.pop(key, None)
        if record is not None:
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
