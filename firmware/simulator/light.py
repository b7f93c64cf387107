"""A simulated MQTT light, as a third-party device (Zigbee2MQTT-style JSON schema).

It announces itself with Home Assistant discovery on ``<prefix>/light/<node_id>/light/
config`` (again whenever the hub's ``<prefix>/status`` says ``online``), keeps its state
retained on ``<base>/state``, obeys JSON commands on ``<base>/set`` (``{"state": "ON",
"brightness": 128}``) and says ``online``/``offline`` on ``<base>/status`` (its will).
On a broker that enforces identity it logs in with the credential the owner made for it
at the hub's /broker page (topic base and node id as given there).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from firmware.simulator.runner import SimulatorError, broker_settings, run_in_foreground

_LOGGER = logging.getLogger(__name__)
_TOPIC_BASE = re.compile(r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
_NODE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
RECONNECT_MAX_S = 5


@dataclass(frozen=True)
class LightOptions:
    broker_url: str
    base: str = "sim/light"
    node_id: str = "sim_light"
    name: str = "Simulated light"
    discovery_prefix: str = "homeassistant"

    def check(self) -> None:
        if not _TOPIC_BASE.match(self.base):
            raise SimulatorError("topic base must be words joined by '/', e.g. lights/hall")
        if not _NODE_ID.match(self.node_id):
            raise SimulatorError("node id may hold letters, digits, '_' and '-' (1-64)")
        if not _TOPIC_BASE.match(self.discovery_prefix):
            raise SimulatorError("discovery prefix may hold letters, digits, '_', '-' and '/'")
        broker_settings(self.broker_url)


class SimulatedLight:
    """The light's state and its MQTT side; ``run(stop)`` until ``stop`` is set."""

    def __init__(self, options: LightOptions) -> None:
        options.check()
        self.options = options
        self.on = False
        self.brightness = 255
        self.changed = threading.Condition()
        self._broker = broker_settings(options.broker_url)
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"sim-{options.node_id}")
        if self._broker["user"]:
            self._client.username_pw_set(self._broker["user"], self._broker["password"])
        self._client.will_set(self.topic("status"), "offline", qos=1, retain=True)
        self._client.reconnect_delay_set(1, RECONNECT_MAX_S)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message

    def topic(self, leaf: str) -> str:
        return f"{self.options.base}/{leaf}"

    @property
    def discovery_topic(self) -> str:
        return f"{self.options.discovery_prefix}/light/{self.options.node_id}/light/config"

    def discovery(self) -> dict[str, Any]:
        node = self.options.node_id
        return {
            "name": None,  # the entity is the device: it takes the device's name
            "unique_id": f"{node}_light",
            "schema": "json",
            "brightness": True,
            "state_topic": self.topic("state"),
            "command_topic": self.topic("set"),
            "availability_topic": self.topic("status"),
            "device": {
                "identifiers": [f"sim-light:{node}"],
                "name": self.options.name,
                "manufacturer": "Ethos simulator",
                "model": "Simulated MQTT light",
            },
        }

    def _state_payload(self) -> str:
        return json.dumps({"state": "ON" if self.on else "OFF", "brightness": self.brightness})

    def _on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any = None
    ) -> None:
        if reason.is_failure:
            _LOGGER.error("broker refused the light: %s", reason)
            return
        _LOGGER.info(
            "light %s connected as %s", self.options.node_id, self._broker["user"] or "anonymous"
        )
        client.subscribe(self.topic("set"), qos=1)
        client.subscribe(f"{self.options.discovery_prefix}/status", qos=1)
        self._announce(client)

    def _announce(self, client: paho.Client) -> None:
        client.publish(self.discovery_topic, json.dumps(self.discovery()), qos=1, retain=True)
        client.publish(self.topic("status"), "online", qos=1, retain=True)
        client.publish(self.topic("state"), self._state_payload(), qos=1, retain=True)

    def _on_message(self, client: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        if message.topic.endswith("/status"):
            if message.payload == b"online":  # the hub (re)started: announce again
                self._announce(client)
            return
        try:
            command = json.loads(message.payload[:1024])
        except ValueError:
            _LOGGER.warning("ignoring a command that is not JSON")
            return
        if not isinstance(command, dict):
            return
        self.apply(command)
        client.publish(self.topic("state"), self._state_payload(), qos=1, retain=True)

    def apply(self, command: dict[str, Any]) -> None:
        with self.changed:
            if command.get("state") in ("ON", "OFF"):
                self.on = command["state"] == "ON"
            brightness = command.get("brightness")
            if isinstance(brightness, int) and not isinstance(brightness, bool):
                self.brightness = max(0, min(255, brightness))
            _LOGGER.info("light %s", f"on ({self.brightness})" if self.on else "off")
            self.changed.notify_all()

    def run(self, stop: threading.Event) -> None:
        self._client.connect_async(self._broker["host"], self._broker["port"], keepalive=30)
        self._client.loop_start()
        try:
            stop.wait()
        finally:
            if self._client.is_connected():  # say goodbye rather than leave it to the will
                info = self._client.publish(self.topic("status"), "offline", qos=1, retain=True)
                info.wait_for_publish(timeout=2)
            self._client.disconnect()
            self._client.loop_stop()
        _LOGGER.info("light %s stopped", self.options.node_id)


def run_light_until_signal(options: LightOptions) -> int:
    """Run the simulated light in the foreground until SIGTERM or SIGINT."""
    return run_in_foreground(SimulatedLight(options).run)
