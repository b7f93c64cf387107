"""Base class of MQTT entities: subscriptions, availability, expiry, templates, commands.

A template of the entity that goes over the sandbox's limits is refused (logged once):
the entity is then ``unavailable`` with a ``template_error`` attribute saying why, the
way the UI and API show any entity's trouble, until its discovery config changes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from hub.core.entity import Entity
from hub.core.errors import HubError
from hub.core.models import DeviceInfo
from hub.integrations.mqtt.availability import Availability
from hub.integrations.mqtt.client import MqttClient, MqttNotConnected
from hub.integrations.mqtt.const import DOMAIN
from hub.integrations.mqtt.schema import EntityConfig
from hub.integrations.mqtt.subscriptions import MessageCallback, ReceivedMessage
from hub.integrations.mqtt.template import (
    TemplateCompiler,
    TemplateRefused,
    TemplateRenderError,
    ValueTemplate,
)

_LOGGER = logging.getLogger(__name__)
ATTR_TEMPLATE_ERROR = "template_error"


class BrokerUnavailable(HubError):
    """A command could not be sent because the broker is not connected."""


class MqttEntity(Entity):
    """An entity fed by MQTT messages; subclasses interpret the state value."""

    def __init__(
        self,
        client: MqttClient,
        config: EntityConfig,
        *,
        unique_id: str,
        name: str | None,
        object_id: str | None,
        device_info: DeviceInfo | None,
        templates: TemplateCompiler,
    ) -> None:
        super().__init__(
            platform=DOMAIN,
            unique_id=unique_id,
            name=name,
            object_id=object_id,
            device_info=device_info,
        )
        self.config = config
        self._client = client
        self._compiler = templates
        self.template_error: str | None = None
        self._availability = Availability(
            config.availability_list(), config.availability_mode, templates
        )
        state_key, state_source = self.state_template_source()
        self._value_template = self.value_template(state_key, state_source)
        self._attributes_template = self.value_template(
            "json_attributes_template", config.json_attributes_template
        )
        if self.template_error is None and self._availability.refused:
            self.template_error = f"availability_template refused: {self._availability.refused}"
        self._unsubscribes: list[Callable[[], None]] = []
        self._expire_after: int | None = getattr(config, "expire_after", None)
        # Like Home Assistant: with expire_after, unavailable until the first value.
        self._expired = bool(self._expire_after)
        self._expire_handle: asyncio.TimerHandle | None = None
        self._logged: set[str] = set()

    def state_template_source(self) -> tuple[str, str | None]:
        """The config key and source of the template that turns a message into the state."""
        return "value_template", self.config.value_template

    def value_template(self, key: str, source: str | None) -> ValueTemplate | None:
        """Compile one of the entity's templates (ValueError if broken); one refused with
        no input at all puts the entity in error from the start."""
        if not source:
            return None
        template = ValueTemplate(source, self._compiler)
        if template.refused is not None and self.template_error is None:
            self.template_error = f"{key} refused: {template.refused}"
        return template

    def refuse_template(self, key: str, err: TemplateRefused) -> None:
        """A template went over its limits: say so once, then show it on the entity."""
        if self.template_error is not None:
            return
        self.template_error = f"{key} refused: {err}"
        self._report_template_error()
        self._rebuild_attributes()
        self.async_write_state()

    def _report_template_error(self) -> None:
        _LOGGER.warning(
            "%s: %s; unavailable until its discovery config changes",
            self.entity_id or self.unique_id,
            self.template_error,
        )

    @property
    def available(self) -> bool:
        return self.template_error is None and self._availability.available and not self._expired

    def log_once(self, key: str, message: str, *args: object) -> None:
        """Warn about bad input once per entity and kind, so junk cannot flood the log."""
        if key not in self._logged:
            self._logged.add(key)
            _LOGGER.warning("%s: " + message, self.entity_id or self.unique_id, *args)

    async def async_subscribe(self, topic: str | None, callback: MessageCallback) -> None:
        if topic:
            self._unsubscribes.append(await self._client.async_subscribe(topic, callback))

    async def async_added(self) -> None:
        if self.template_error is not None:
            self._report_template_error()
        for topic in self._availability.topics:
            await self.async_subscribe(topic, self._on_availability_message)
        await self.async_subscribe(self.config.state_topic, self._on_state_message)
        await self.async_subscribe(self.config.json_attributes_topic, self._on_attributes_message)

    async def async_will_remove(self) -> None:
        while self._unsubscribes:
            self._unsubscribes.pop()()
        if self._expire_handle is not None:
            self._expire_handle.cancel()

    def _on_availability_message(self, message: ReceivedMessage) -> None:
        try:
            understood = self._availability.update(
                message.topic, message.payload.decode("utf-8", "replace")
            )
        except TemplateRefused as err:
            self.refuse_template("availability_template", err)
            return
        except TemplateRenderError as err:
            self.log_once("availability_template", "availability template failed: %s", err)
            return
        if understood:
            self.async_write_state()

    def render_value(self, message: ReceivedMessage) -> str | None:
        text = message.payload.decode("utf-8", "replace")
        if self._value_template is None:
            return text
        try:
            return self._value_template.render(text)
        except TemplateRefused as err:
            self.refuse_template(self.state_template_source()[0], err)
            return None
        except TemplateRenderError as err:
            self.log_once("value_template", "value template failed: %s", err)
            return None

    def _on_state_message(self, message: ReceivedMessage) -> None:
        value = self.render_value(message)
        if value is None or not self.process_state(value):
            return
        if self._expire_after:
            self._restart_expiry()
        self.async_write_state()

    def process_state(self, value: str) -> bool:
        """Take a rendered state value; return False to ignore the message."""
        return False

    def _restart_expiry(self) -> None:
        self._expired = False
        if self._expire_handle is not None:
            self._expire_handle.cancel()
        loop = asyncio.get_running_loop()
        self._expire_handle = loop.call_later(self._expire_after, self._expire)  # type: ignore[arg-type]

    def _expire(self) -> None:
        self._expired = True
        self._expire_handle = None
        self.async_write_state()

    def _on_attributes_message(self, message: ReceivedMessage) -> None:
        text = message.payload.decode("utf-8", "replace")
        try:
            if self._attributes_template is not None:
                text = self._attributes_template.render(text)
            attributes = json.loads(text)
        except TemplateRefused as err:
            self.refuse_template("json_attributes_template", err)
            return
        except (TemplateRenderError, ValueError) as err:
            self.log_once("json_attributes", "attributes are not a JSON object: %s", err)
            return
        if not isinstance(attributes, dict):
            self.log_once("json_attributes", "attributes are not a JSON object")
            return
        self.set_extra_attributes(attributes)
        self.async_write_state()

    def static_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for key in ("device_class", "icon", "entity_category"):
            value = getattr(self.config, key, None)
            if value is not None:
                attrs[key] = value
        if self.template_error is not None:
            attrs[ATTR_TEMPLATE_ERROR] = self.template_error
        return attrs

    @property
    def optimistic(self) -> bool:
        explicit = getattr(self.config, "optimistic", None)
        return explicit if explicit is not None else self.config.state_topic is None

    async def async_publish(self, topic: str, payload: str) -> None:
        try:
            await self._client.async_publish(
                topic, payload, qos=self.config.qos, retain=self.config.retain
            )
        except MqttNotConnected as err:
            raise BrokerUnavailable(f"MQTT broker unavailable: {err}") from err
