"""MQTT session over a umqtt.simple-style client: last will, reconnect with backoff.

The client object needs ``set_callback``, ``set_last_will``, ``connect``, ``subscribe``,
``publish``, ``check_msg``, ``ping`` and ``disconnect`` (``umqtt.simple.MQTTClient`` on the
device, the paho adapter in the simulator). Any OSError marks the link down; it reconnects
later with exponential backoff instead of blocking or rebooting.
"""

import clock
import fw_log
from presence_const import BACKOFF_FIRST_MS, BACKOFF_MAX_MS, PAYLOAD_OFFLINE


class Backoff:
    """Exponential delay between attempts, reset after a success."""

    def __init__(self, first_ms: int = BACKOFF_FIRST_MS, max_ms: int = BACKOFF_MAX_MS) -> None:
        self.first_ms = first_ms
        self.max_ms = max_ms
        self.delay_ms = 0
        self._last = None

    def due(self, now_ms: int) -> bool:
        return self._last is None or clock.ticks_diff(now_ms, self._last) >= self.delay_ms

    def failed(self, now_ms: int) -> None:
        self._last = now_ms
        self.delay_ms = min(self.max_ms, self.delay_ms * 2 if self.delay_ms else self.first_ms)

    def succeeded(self) -> None:
        self._last = None
        self.delay_ms = 0


class MqttLink:
    def __init__(
        self,
        factory: object,
        client_id: str,
        server: dict,
        will_topic: str,
        on_message: object,
        on_connect: object,
        keepalive_s: int = 30,
        backoff: Backoff | None = None,
    ) -> None:
        self._factory = factory
        self._client_id = client_id
        self._server = server
        self._will_topic = will_topic
        self._on_message = on_message
        self._on_connect = on_connect
        self.keepalive_s = keepalive_s
        self.backoff = backoff or Backoff()
        self.client = None
        self.connected = False
        self.connections = 0
        self._last_ping = 0

    @property
    def login_user(self) -> str:
        """The broker username this link logs in with ("" for none)."""
        return self._server.get("user") or ""

    def service(self, now_ms: int) -> None:
        """Connect when due, deliver waiting messages, keep the session alive."""
        if not self.connected:
            if self.backoff.due(now_ms):
                self._connect(now_ms)
            return
        try:
            self.client.check_msg()
            if clock.ticks_diff(now_ms, self._last_ping) >= self.keepalive_s * 500:
                self.client.ping()
                self._last_ping = now_ms
        except OSError as err:
            self.lost(now_ms, err)

    def _connect(self, now_ms: int) -> None:
        server = self._server
        try:
            if self.client is None:
                self.client = self._factory(
                    self._client_id,
                    server["host"],
                    server["port"],
                    server.get("user") or None,
                    server.get("password") or None,
                    self.keepalive_s,
                )
                self.client.set_callback(self._on_message)
            self.client.set_last_will(self._will_topic, PAYLOAD_OFFLINE, True, 1)
            self.client.connect()
            self.connected = True
            self.connections += 1
            self._last_ping = now_ms
            fw_log.info(
                "mqtt connected to %s:%s as %s",
                server["host"],
                server["port"],
                server.get("user") or "anonymous",
            )
            self._on_connect()
            self.backoff.succeeded()
        except OSError as err:
            self.connected = False
            self.backoff.failed(now_ms)
            fw_log.warning(
                "mqtt connect to %s:%s failed (%s); retry in %d ms",
                server["host"],
                server["port"],
                err,
                self.backoff.delay_ms,
            )

    def lost(self, now_ms: int, err: Exception) -> None:
        self.connected = False
        self.backoff.failed(now_ms)
        fw_log.warning("mqtt connection lost (%s); retry in %d ms", err, self.backoff.delay_ms)
        self._drop_socket()

    def _drop_socket(self) -> None:
        try:
            self.client.disconnect()
        except OSError:
            # umqtt.simple writes DISCONNECT before closing: on a dead socket the write
            # fails and the socket would stay open, and the ESP32 has only a few.
            sock = getattr(self.client, "sock", None)
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass

    def publish(
        self, topic: str, payload: str | bytes, retain: bool = False, now_ms: int | None = None
    ) -> bool:
        """Publish if connected; return False (and go down) instead of raising."""
        if not self.connected:
            return False
        try:
            self.client.publish(topic, payload, retain)
            return True
        except OSError as err:
            self.lost(clock.ticks_ms() if now_ms is None else now_ms, err)
            return False

    def close(self) -> None:
        if self.connected:
            self._drop_socket()
        self.connected = False
