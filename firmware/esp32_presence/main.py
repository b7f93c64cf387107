"""Device entry point: load config.json, build the hardware, run the presence loop forever.

Runs after boot on the ESP32. A missing or corrupt config falls back to safe defaults and
says so on the serial console (and, once connected, on MQTT).
"""

import board
import device_config
import fw_log
import umqtt.simple
from presence_app import PresenceDevice


class GuardedMQTTClient(umqtt.simple.MQTTClient):
    """umqtt.simple, but connect() first checks the broker answers within a timeout."""

    def connect(self, clean_session: bool = True) -> bool:
        if not board.broker_reachable(self.server, self.port):
            raise OSError("broker %s:%s not reachable" % (self.server, self.port))
        return super().connect(clean_session)


def mqtt_factory(
    client_id: str, host: str, port: int, user: str | None, password: str | None, keepalive: int
) -> object:
    return GuardedMQTTClient(client_id, host, port, user, password, keepalive)


def build_device() -> PresenceDevice:
    """The PresenceDevice wired to this board, from config.json (or safe defaults)."""
    store = board.FlashConfigStore()
    config, problems = device_config.load_config(store.read())
    if config["serial"] == device_config.DEFAULT_SERIAL:
        config["serial"] = "EPD-" + board.unique_suffix()
    pins = config["pins"]
    wifi = config["wifi"]
    device = PresenceDevice(
        config,
        problems,
        board.radar_uart(pins),
        board.pir_pin(pins),
        mqtt_factory,
        config_store=store,
        network=board.Wifi(wifi["ssid"], wifi["password"], config["serial"]),
        watchdog=board.watchdog(),
    )
    if config["ble"]["advertise"] or config["ble"]["targets"]:
        device.advertiser = board.BleRadio(device)
    fw_log.info("ethos presence %s starting", config["serial"])
    return device


def run(device: PresenceDevice, should_stop: object = None) -> None:
    """The main loop; keeps a BLE scan going when targets are configured."""
    radio = device.advertiser
    scanning = radio is not None and bool(device.config["ble"]["targets"])

    def stop_or_keep_scanning() -> bool:
        if scanning:
            radio.scan()
        return should_stop is not None and should_stop()

    device.run(should_stop=stop_or_keep_scanning)


def start(should_stop: object = None) -> None:
    run(build_device(), should_stop)


if __name__ == "__main__":
    start()
