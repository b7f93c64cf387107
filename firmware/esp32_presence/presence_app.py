"""The presence detector application: radar + PIR + BLE -> fusion -> MQTT and BTHome.

Hardware arrives as plain objects (a UART-like radar port, a pin with ``value()``, an MQTT
client factory, optional advertiser/network/watchdog/config store), so the same class runs
on the ESP32 (``main.py``) and in the host simulator. ``step()`` does one pass of the main
loop and never raises on bad input from the radar or the broker.
"""

import bthome_adv
import clock
import fw_log
import ha_discovery
import ld2410
from ble_presence import BeaconTracker
from claim import answer_challenge, broker_password
from device_config import claim_secret_bytes, dump_config, parse_setting
from fusion import PresenceFusion
from mqtt_link import MqttLink
from pir import DebouncedInput
from presence_const import (
    DISCOVERY_PREFIX,
    GATE_CM,
    LOOP_INTERVAL_MS,
    MEASUREMENT_INTERVAL_MS,
    MQTT_KEEPALIVE_S,
    PAYLOAD_OFF,
    PAYLOAD_OFFLINE,
    PAYLOAD_ON,
    PAYLOAD_ONLINE,
    SENSITIVITY_LEVELS,
    SETTING_HOLD_TIME,
    SETTING_KEYS,
    SETTING_MAX_DISTANCE,
    SETTING_ON_LATENCY,
    SETTING_SENSITIVITY,
)


def format_value(value: float | int | str) -> str:
    if isinstance(value, float) and value == int(value) and abs(value) >= 1:
        return str(int(value))
    return str(value)


def broker_login(mqtt: dict, serial: str, claim_secret: bytes | None) -> dict:
    """Broker settings with the device's own login: its serial and the password derived from
    its claim secret, unless config.json names another account. (A copy: the derived
    password is never written back to config.json.)"""
    server = dict(mqtt)
    if not server.get("user") and claim_secret is not None:
        server["user"] = serial
        server["password"] = broker_password(claim_secret)
    return server


class PresenceDevice:
    """One presence detector: owns the sensors' state and the MQTT session."""

    def __init__(
        self,
        config: dict,
        problems: list,
        radar_port: object,
        pir_pin: object,
        mqtt_factory: object,
        config_store: object = None,
        advertiser: object = None,
        network: object = None,
        watchdog: object = None,
    ) -> None:
        self.config = config
        self.serial = config["serial"]
        self.claim_secret = claim_secret_bytes(config)
        self.diagnostic = "; ".join(problems) if problems else "ok"
        for problem in problems:
            fw_log.warning("config: %s", problem)
        self.fusion = PresenceFusion()
        self.radar = ld2410.LD2410(radar_port, on_report=self._on_report)
        self.pir_pin = pir_pin
        self.pir = DebouncedInput()
        ble = config["ble"]
        self.tracker = BeaconTracker(ble["targets"], ble["absorption"])
        self.advertiser = advertiser
        self.network = network
        self.watchdog = watchdog
        self.config_store = config_store
        self._packet_id = 0
        self._published = {}
        self._last_measurement_ms = None
        self._now = clock.ticks_ms()
        self._announce_pending = False
        self._prefix = "ethos/%s/" % self.serial
        self._discovery_prefix = config["mqtt"].get("discovery_prefix") or DISCOVERY_PREFIX
        # The hub's birth/will topic lives under the same prefix as the discovery configs.
        self._hub_status_topic = self._discovery_prefix + "/status"
        self.link = MqttLink(
            mqtt_factory,
            "ethos-" + self.serial,
            broker_login(config["mqtt"], self.serial, self.claim_secret),
            ha_discovery.status_topic(self.serial),
            self._on_message,
            self._on_connected,
            MQTT_KEEPALIVE_S,
        )
        for key in SETTING_KEYS:
            self._apply_setting(key, config["settings"][key], configure_radar=False)

    # ----- inputs -------------------------------------------------------------------------

    def _on_report(self, report: ld2410.RadarReport) -> None:
        self.fusion.update_radar(report, self._now)

    def configure_radar(self) -> bool:
        """Push gate count and sensitivity to the radar; report failure, keep running."""
        settings = self.config["settings"]
        max_gate = max(2, min(8, int(settings[SETTING_MAX_DISTANCE]) // GATE_CM))
        moving, still, _ = SENSITIVITY_LEVELS[settings[SETTING_SENSITIVITY]]
        try:
            self.radar.configure(max_gate=max_gate, moving=moving, still=still)
            fw_log.info("radar configured: max gate %d, thresholds %d/%d", max_gate, moving, still)
            return True
        except ld2410.LD2410Error as err:
            self._set_diagnostic("radar configuration failed: %s" % err)
            return False

    def observe_ble(self, rssi: int, adv_data: bytes) -> None:
        self.tracker.observe(rssi, adv_data, self._now)

    # ----- main loop ----------------------------------------------------------------------

    def step(self, now_ms: int | None = None) -> None:
        """One pass of the main loop: read sensors, decide, publish, keep the links up."""
        now = clock.ticks_ms() if now_ms is None else now_ms
        self._now = now
        if self.watchdog is not None:
            self.watchdog.feed()
        self.radar.poll()
        if self.pir_pin is not None and self.pir.update(self.pir_pin.value(), now):
            self.fusion.update_pir(self.pir.state, now)
            self._publish("pir", PAYLOAD_ON if self.pir.state else PAYLOAD_OFF)
        if self.fusion.evaluate(now):
            occupied = self.fusion.occupied
            fw_log.info("occupancy %s", "ON" if occupied else "OFF")
            self._publish("occupancy", PAYLOAD_ON if occupied else PAYLOAD_OFF)
            self._advertise()
        if self._measurement_due(now):
            self._publish_measurements()
        if self.network is None or self.network.ensure(now):
            self.link.service(now)
            if self._announce_pending and self.link.connected:
                self._announce_pending = False
                self._announce()
        elif self.link.connected:
            self.link.lost(now, OSError("network down"))

    def run(self, should_stop: object = None, interval_ms: int = LOOP_INTERVAL_MS) -> None:
        self.configure_radar()
        self._advertise()
        while should_stop is None or not should_stop():
            self.step()
            clock.sleep_ms(interval_ms)
        self.close()

    def close(self) -> None:
        """Say goodbye: a clean disconnect would not fire the last will."""
        if self.link.connected:
            self.link.publish(ha_discovery.status_topic(self.serial), PAYLOAD_OFFLINE, True)
        self.link.close()

    # ----- outputs ------------------------------------------------------------------------

    def _measurement_due(self, now: int) -> bool:
        last = self._last_measurement_ms
        if last is not None and clock.ticks_diff(now, last) < MEASUREMENT_INTERVAL_MS:
            return False
        self._last_measurement_ms = now
        return True

    def _publish(self, key: str, value: str, retain: bool = True, force: bool = False) -> None:
        if not force and self._published.get(key) == value:
            return
        if self.link.publish(self._prefix + key, value, retain, self._now):
            self._published[key] = value

    def _publish_measurements(self) -> None:
        report = self.fusion.last_report
        if report is not None:
            self._publish("target", report.target_name)
            self._publish("moving_distance", str(report.moving_distance_cm))
            self._publish("moving_energy", str(report.moving_energy))
            self._publish("still_distance", str(report.still_distance_cm))
            self._publish("still_energy", str(report.still_energy))
            self._publish("detection_distance", str(report.detection_distance_cm))
        nearest = self.tracker.nearest(self._now)
        if nearest is not None:
            self._publish("ble_distance", "%.1f" % nearest[1])

    def _advertise(self) -> None:
        if self.advertiser is None:
            return
        self._packet_id = (self._packet_id + 1) & 0xFF
        payload = bthome_adv.encode_advertisement(
            self.fusion.occupied, self._packet_id, "ethos-" + self.serial
        )
        try:
            self.advertiser.advertise(payload)
        except OSError as err:
            fw_log.warning("BLE advertise failed: %s", err)

    def _set_diagnostic(self, text: str) -> None:
        fw_log.warning("%s", text)
        self.diagnostic = text
        self._publish("diagnostic", text)

    def _on_connected(self) -> None:
        client = self.link.client
        client.subscribe(self._prefix + "set/#")
        client.subscribe(self._prefix + "claim/challenge")
        client.subscribe(self._hub_status_topic)
        self._published = {}
        self._announce()

    def _announce(self) -> None:
        """Publish availability, discovery and every current value (retained)."""
        self.link.publish(ha_discovery.status_topic(self.serial), PAYLOAD_ONLINE, True)
        count = 0
        for topic, payload in ha_discovery.discovery_messages(self.serial, self._discovery_prefix):
            if not self.link.publish(topic, payload, True):
                return
            count += 1
        fw_log.info("published %d discovery configs", count)
        settings = self.config["settings"]
        for key in SETTING_KEYS:
            self._publish(key, format_value(settings[key]), force=True)
        self._publish("occupancy", PAYLOAD_ON if self.fusion.occupied else PAYLOAD_OFF, force=True)
        self._publish("pir", PAYLOAD_ON if self.pir.state else PAYLOAD_OFF, force=True)
        self._publish("diagnostic", self.diagnostic, force=True)
        self._publish_measurements()

    # ----- commands -----------------------------------------------------------------------

    def _on_message(self, topic: bytes, payload: bytes) -> None:
        try:
            self._handle_message(bytes(topic).decode(), bytes(payload))
        except Exception as err:  # one bad message must not stop the device
            fw_log.error("message on %s failed: %s", topic, err)

    def _handle_message(self, topic: str, payload: bytes) -> None:
        if topic == self._hub_status_topic:
            if payload == PAYLOAD_ONLINE.encode():
                fw_log.info("hub came online: re-announcing")
                # Publishing from inside check_msg would re-enter umqtt; do it next step.
                self._announce_pending = True
            return
        if not topic.startswith(self._prefix):
            return
        rest = topic[len(self._prefix) :]
        if rest == "claim/challenge":
            self._answer_claim(payload)
        elif rest.startswith("set/"):
            self.handle_setting(rest[4:], payload)

    def _answer_claim(self, nonce: bytes) -> None:
        if self.claim_secret is None:
            self._set_diagnostic("claim challenge ignored: no claim secret configured")
            return
        try:
            answer = answer_challenge(self.claim_secret, nonce)
        except ValueError as err:
            self._set_diagnostic("claim challenge rejected: %s" % err)
            return
        self.link.publish(self._prefix + "claim/response", answer, False)
        fw_log.info("answered claim challenge")

    def handle_setting(self, key: str, payload: bytes | str) -> bool:
        """Range-check, apply, save and echo one setting; refuse bad input with a reason."""
        if key not in SETTING_KEYS:
            self._set_diagnostic("unknown setting %r" % key)
            return False
        try:
            value = parse_setting(key, payload)
        except ValueError as err:
            self._set_diagnostic("rejected %s=%r: %s" % (key, bytes(payload)[:32], err))
            # Echo the value still in force so a hub control snaps back.
            self._publish(key, format_value(self.config["settings"][key]), force=True)
            return False
        self._apply_setting(key, value, configure_radar=True)
        self._save_config()
        fw_log.info("setting %s = %s", key, value)
        self._publish(key, format_value(value), force=True)
        return True

    def _apply_setting(self, key: str, value: float | int | str, configure_radar: bool) -> None:
        self.config["settings"][key] = value
        fusion = self.fusion
        if key == SETTING_HOLD_TIME:
            fusion.hold_ms = int(value * 1000)
        elif key == SETTING_ON_LATENCY:
            fusion.on_latency_ms = int(value * 1000)
        elif key == SETTING_MAX_DISTANCE:
            fusion.max_distance_cm = int(value)
        elif key == SETTING_SENSITIVITY:
            fusion.min_energy = SENSITIVITY_LEVELS[value][2]
        if configure_radar and key in (SETTING_MAX_DISTANCE, SETTING_SENSITIVITY):
            self.configure_radar()

    def _save_config(self) -> None:
        if self.config_store is None:
            return
        try:
            self.config_store.save(dump_config(self.config))
        except OSError as err:
            self._set_diagnostic("could not save config: %s" % err)
