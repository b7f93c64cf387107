"""A umqtt.simple-compatible MQTT client built on paho-mqtt, for the simulator.

The firmware talks to ``umqtt.simple.MQTTClient``; this adapter offers the same small
interface (blocking connect/subscribe, ``check_msg`` delivering to the callback in the
caller's thread, OSError on a dead connection) so the firmware code runs unchanged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

_LOGGER = logging.getLogger(__name__)

MessageCallback = Callable[[bytes, bytes], None]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes | bytearray) else value


class PahoMQTTClient:
    """Same constructor and methods as ``umqtt.simple.MQTTClient`` (the parts Ethos uses)."""

    def __init__(
        self,
        client_id: str,
        server: str,
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
        keepalive: int = 0,
        timeout_s: float = 5.0,
    ) -> None:
        self.client_id = client_id
        self.server = server
        self.port = port or 1883
        self.user = user
        self.password = password
        self.keepalive = keepalive or 60
        self.timeout_s = timeout_s
        self._callback: MessageCallback | None = None
        self._will: tuple[str, bytes, bool, int] | None = None
        self._client: paho.Client | None = None
        self._inbox: queue.SimpleQueue[tuple[bytes, bytes]] = queue.SimpleQueue()
        self._connected = threading.Event()
        self._connack: threading.Event = threading.Event()
        self._connack_code = 0
        self._subacks: dict[int, threading.Event] = {}
        self._suback_lock = threading.Lock()

    def set_callback(self, callback: MessageCallback) -> None:
        self._callback = callback

    def set_last_will(
        self, topic: str | bytes, msg: str | bytes, retain: bool = False, qos: int = 0
    ) -> None:
        payload = msg.encode() if isinstance(msg, str) else bytes(msg)
        self._will = (_text(topic), payload, retain, qos)

    def connect(self, clean_session: bool = True) -> bool:
        self._shutdown_client()
        client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=clean_session
        )
        if self.user:
            client.username_pw_set(self.user, self.password)
        if self._will:
            topic, payload, retain, qos = self._will
            client.will_set(topic, payload, qos, retain)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self._connack.clear()
        try:
            client.connect(self.server, self.port, self.keepalive)
        except (OSError, ValueError) as err:
            raise OSError(f"cannot reach {self.server}:{self.port}: {err}") from err
        self._client = client
        client.loop_start()
        if not self._connack.wait(self.timeout_s):
            self._shutdown_client()
            raise OSError("no CONNACK")
        if self._connack_code:
            self._shutdown_client()
            raise OSError(f"broker refused connection ({self._connack_code})")
        return False

    def subscribe(self, topic: str | bytes, qos: int = 0) -> None:
        client = self._require()
        done = threading.Event()
        # Held across send and registration so a fast SUBACK cannot arrive unregistered.
        with self._suback_lock:
            result, mid = client.subscribe(_text(topic), qos)
            if result != paho.MQTT_ERR_SUCCESS:
                raise OSError(f"subscribe failed ({result})")
            self._subacks[mid] = done
        if not done.wait(self.timeout_s):
            raise OSError("no SUBACK")

    def publish(
        self, topic: str | bytes, msg: str | bytes, retain: bool = False, qos: int = 0
    ) -> None:
        info = self._require().publish(_text(topic), msg, qos, retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise OSError(f"publish failed ({info.rc})")

    def check_msg(self) -> None:
        self._require()
        while True:
            try:
                topic, payload = self._inbox.get_nowait()
            except queue.Empty:
                return
            if self._callback is not None:
                self._callback(topic, payload)

    def ping(self) -> None:
        # paho sends PINGREQ itself; a ping here only has to notice a dead session.
        self._require()

    def disconnect(self) -> None:
        self._shutdown_client()

    # paho callbacks run in paho's network thread -------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connack_code = 0 if not reason_code.is_failure else int(reason_code.value)
        if not reason_code.is_failure:
            self._connected.set()
        self._connack.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()

    def _on_message(self, client, userdata, message: paho.MQTTMessage) -> None:
        self._inbox.put((message.topic.encode(), bytes(message.payload)))

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        with self._suback_lock:
            done = self._subacks.pop(mid, None)
        if done is not None:
            done.set()

    def _require(self) -> paho.Client:
        if self._client is None or not self._connected.is_set():
            raise OSError("not connected")
        return self._client

    def _shutdown_client(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is None:
            return
        try:
            client.disconnect()
        finally:
            client.loop_stop()
