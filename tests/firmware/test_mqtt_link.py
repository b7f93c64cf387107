"""MqttLink's reconnect backoff and socket hygiene (umqtt.simple only exists on the device,
so a stand-in with its failure behaviour plays the client here)."""

from __future__ import annotations

from mqtt_link import Backoff, MqttLink


class DeadSocket:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


class UmqttOnADeadConnection:
    """Like umqtt.simple.MQTTClient after the peer vanished: writes fail, the socket stays."""

    def __init__(self, *_args: object) -> None:
        self.sock = DeadSocket()
        self.connects = 0

    def set_callback(self, _callback: object) -> None:
        pass

    def set_last_will(self, *_args: object) -> None:
        pass

    def connect(self) -> None:
        self.connects += 1

    def publish(self, *_args: object) -> None:
        raise OSError(104, "ECONNRESET")

    def disconnect(self) -> None:
        raise OSError(104, "ECONNRESET")


def test_backoff_doubles_up_to_the_cap_and_resets_after_success() -> None:
    backoff = Backoff(first_ms=1000, max_ms=5000)
    delays = []
    for now in range(0, 60000, 10000):
        assert backoff.due(now)
        backoff.failed(now)
        delays.append(backoff.delay_ms)
    assert delays == [1000, 2000, 4000, 5000, 5000, 5000]
    assert not backoff.due(50000 + 4999)
    backoff.succeeded()
    assert backoff.due(0) and backoff.delay_ms == 0


def test_a_failed_publish_marks_the_link_down_and_closes_the_socket() -> None:
    server = {"host": "broker", "port": 1883}
    link = MqttLink(UmqttOnADeadConnection, "id", server, "ethos/S/status", print, lambda: None)
    link.service(0)
    assert link.connected and link.client.connects == 1
    assert link.publish("ethos/S/occupancy", "ON", now_ms=10) is False
    assert not link.connected and link.client.sock.closed
    assert link.backoff.delay_ms == 1000
    link.service(500)  # not yet due
    assert link.client.connects == 1
    link.service(1010)
    assert link.connected and link.client.connects == 2
