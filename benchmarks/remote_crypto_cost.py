"""What remote access's cryptography costs the hub, side by side in one run.

1. Sealing and opening a snapshot (``--entities`` shared entities, default 50) against
   the same snapshot as plain JSON (dumps + loads): median microseconds per message of
   ``--rounds`` rounds, alternating, and the ratio.
2. One pairing key (PBKDF2-HMAC-SHA256, 100 000 iterations): median milliseconds; the hub
   pays it once per code, then a hello costs a MAC (its median beside it).

    .venv/bin/python -m benchmarks.remote_crypto_cost [--entities 50] [--messages 2000]
        [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

from hub.integrations.ethos_remote.envelope import CounterClock, HouseholdKey, open_sealed, seal
from hub.integrations.ethos_remote.handshake import hello_mac, pairing_key

HUB = "0123456789abcdef0123456789abcdef"
TOPIC = f"ethos-home/{HUB}/state"


def snapshot(entities: int) -> dict:
    entity = {
        "entity_id": "binary_sensor.epd_000123_occupancy",
        "name": "Hallway presence",
        "domain": "binary_sensor",
        "state": "on",
        "attributes": {"device_class": "occupancy", "friendly_name": "Hallway presence"},
        "device": "Presence detector",
        "room": "Hallway",
        "controls": [],
    }
    return {
        "type": "snapshot",
        "sent_at": "2026-12-05T17:00:00+00:00",
        "hub_name": "Home",
        "entities": [entity | {"entity_id": f"{entity['entity_id']}_{i}"} for i in range(entities)],
    }


def per_message(func, count: int) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for _ in range(count):
        func()
    return (time.perf_counter() - started) / count


def main(args: argparse.Namespace) -> None:
    key = HouseholdKey.generate()
    body = snapshot(args.entities)
    clock = CounterClock()

    def sealed_round_trip() -> None:
        open_sealed(key, TOPIC, seal(key, TOPIC, "hub", clock.next(), body))

    def plain_round_trip() -> None:
        json.loads(json.dumps(body))

    size = len(seal(key, TOPIC, "hub", clock.next(), body))
    sealed, plain = [], []
    for _ in range(args.rounds):
        plain.append(per_message(plain_round_trip, args.messages))
        sealed.append(per_message(sealed_round_trip, args.messages))
    pbkdf2 = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        pairing_key("7K3M9P2QXR", HUB)
        pbkdf2.append(time.perf_counter() - started)
    pk = os.urandom(32)
    mac = per_message(lambda: hello_mac(pk, HUB, "f" * 32, "A" * 87, "Firefox"), args.messages)

    one, five, _ = os.getloadavg()
    print(f"Load average {one:.2f} / {five:.2f} (1/5 min) on {os.cpu_count()} cores")
    print(f"1. Snapshot of {args.entities} entities ({size} bytes sealed), per message:")
    print(f"   plain JSON dumps + loads     {statistics.median(plain) * 1e6:8.1f} us (median)")
    print(f"   seal + open (AES-256-GCM)    {statistics.median(sealed) * 1e6:8.1f} us (median)")
    print(f"   ratio {statistics.median(sealed) / statistics.median(plain):.2f}x")
    print(f"2. PBKDF2 pairing key           {statistics.median(pbkdf2) * 1e3:8.1f} ms (median)")
    print(f"   hello MAC (pk cached)        {mac * 1e6:8.1f} us")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args())
