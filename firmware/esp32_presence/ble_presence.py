"""BLE presence: match configured phones/beacons in advertisements, estimate distance.

distance_m = 10 ** ((rssi_at_1m - rssi) / (10 * absorption)); raw RSSI is noisy, so each
target keeps a time window of samples and uses their median after dropping outliers
beyond 1.5 x IQR. Pure logic: the board feeds scan results (address, rssi, adv data).
"""

import clock
from presence_const import BLE_MAX_SAMPLES, BLE_WINDOW_MS, DEFAULT_ABSORPTION, DEFAULT_RSSI_AT_1M

AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_MANUFACTURER = 0xFF
APPLE_COMPANY = b"\x4c\x00"
IBEACON_PREFIX = b"\x02\x15"


def rssi_to_distance(
    rssi: float, rssi_at_1m: float = DEFAULT_RSSI_AT_1M, absorption: float = DEFAULT_ABSORPTION
) -> float:
    return 10 ** ((rssi_at_1m - rssi) / (10 * absorption))


def _quantile(ordered: list, fraction: float) -> float:
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def robust_median(values: list) -> float | None:
    """Median after dropping values outside [Q1 - 1.5 IQR, Q3 + 1.5 IQR]; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) >= 4:
        q1 = _quantile(ordered, 0.25)
        q3 = _quantile(ordered, 0.75)
        spread = 1.5 * (q3 - q1)
        ordered = [v for v in ordered if q1 - spread <= v <= q3 + spread]
    return _quantile(ordered, 0.5)


def parse_advertisement(adv_data: bytes) -> tuple:
    """Return (name or None, ibeacon (uuid hex, major, minor, power) or None)."""
    name = None
    beacon = None
    i = 0
    size = len(adv_data)
    while i + 1 < size:
        length = adv_data[i]
        if length == 0 or i + 1 + length > size:
            break
        ad_type = adv_data[i + 1]
        body = bytes(adv_data[i + 2 : i + 1 + length])
        if ad_type in (AD_SHORT_NAME, AD_COMPLETE_NAME):
            try:
                name = body.decode()
            except UnicodeError:
                name = None
        elif (
            ad_type == AD_MANUFACTURER
            and len(body) == 25
            and body[0:2] == APPLE_COMPANY
            and body[2:4] == IBEACON_PREFIX
        ):
            power = body[24] - 256 if body[24] > 127 else body[24]
            major = (body[20] << 8) | body[21]
            minor = (body[22] << 8) | body[23]
            beacon = (body[4:20].hex(), major, minor, power)
        i += 1 + length
    return name, beacon


class RssiWindow:
    """The last ``max_samples`` RSSI readings of one target inside ``window_ms``."""

    def __init__(self, window_ms: int = BLE_WINDOW_MS, max_samples: int = BLE_MAX_SAMPLES) -> None:
        self.window_ms = window_ms
        self._times = [0] * max_samples
        self._values = [0] * max_samples
        self._count = 0
        self._next = 0

    def add(self, rssi: int, now_ms: int) -> None:
        self._times[self._next] = now_ms
        self._values[self._next] = rssi
        self._next = (self._next + 1) % len(self._values)
        self._count = min(self._count + 1, len(self._values))

    def recent(self, now_ms: int) -> list:
        out = []
        for k in range(self._count):
            if clock.ticks_diff(now_ms, self._times[k]) <= self.window_ms:
                out.append(self._values[k])
        return out


class BeaconTracker:
    """Tracks configured targets, each ``{"label", "uuid"?, "name"?, "rssi_at_1m"?}``."""

    def __init__(
        self, targets: list, absorption: float = DEFAULT_ABSORPTION, window_ms: int = BLE_WINDOW_MS
    ) -> None:
        self.targets = []
        for target in targets:
            uuid = target.get("uuid")
            self.targets.append(
                {
                    "label": target.get("label") or target.get("name") or uuid,
                    "uuid": uuid.replace("-", "").lower() if uuid else None,
                    "name": target.get("name"),
                    "rssi_at_1m": target.get("rssi_at_1m"),
                    "window": RssiWindow(window_ms),
                }
            )
        self.absorption = absorption

    def _match(self, name: str | None, beacon: tuple | None) -> dict | None:
        for target in self.targets:
            if target["uuid"] and beacon and beacon[0] == target["uuid"]:
                return target
            if target["name"] and name == target["name"]:
                return target
        return None

    def observe(self, rssi: int, adv_data: bytes, now_ms: int) -> str | None:
        """Feed one scan result; return the matched target's label or None."""
        name, beacon = parse_advertisement(adv_data)
        target = self._match(name, beacon)
        if target is None:
            return None
        if beacon and target["rssi_at_1m"] is None:
            target["beacon_power"] = beacon[3]
        target["window"].add(rssi, now_ms)
        return target["label"]

    def distance(self, target: dict, now_ms: int) -> float | None:
        rssi = robust_median(target["window"].recent(now_ms))
        if rssi is None:
            return None
        reference = target["rssi_at_1m"] or target.get("beacon_power") or DEFAULT_RSSI_AT_1M
        return rssi_to_distance(rssi, reference, self.absorption)

    def nearest(self, now_ms: int) -> tuple | None:
        """(label, metres) of the nearest target seen within the window, or None."""
        best = None
        for target in self.targets:
            metres = self.distance(target, now_ms)
            if metres is not None and (best is None or metres < best[1]):
                best = (target["label"], metres)
        return best
