"""Device entry point: load config.json, build the hardware, run the presence loop forever.

Runs after boot on the ESP32. A missing or corrupt config falls back to safe defaults and
says so on the serial console (and, once connected, on MQTT).
"""

import board
import device_config
import fw_log
import umqtt.simple
from presence_app import PresenceDevice


def mqtt_factory(client_id, host, port, user, password, keepalive):
    return umqtt.simple.MQTTClient(client_id, host, port, user, password, keepalive)


def start():
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
    radio = None
    if config["ble"]["advertise"] or config["ble"]["targets"]:
        radio = board.BleRadio(device)
        device.advertiser = radio
    fw_log.info("ethos presence %s starting", config["serial"])

    def keep_scanning():
        if radio is not None and config["ble"]["targets"]:
            radio.scan()
        return False

    device.run(should_stop=keep_scanning)


start()
