"""Admission of new discovery topics: each client adds entities at a bounded rate.

MQTT does not say who published a message. With the broker's identity a device may
publish discovery only under its own node id (``<prefix>/<component>/<node_id>/...``),
so the node id names the client; topics without one share a bucket. A client's new
topics wait in a bounded queue of its own (latest payload per topic) and are taken as
its token bucket and the hub's allow, clients in turn: a flood from one client fills
its own queue and spends its own tokens. A topic that turns out to add nothing to the
registry (its entity is known from an earlier run, or its config is junk that fails
validation) gets its tokens back, so a restart costs none. What does not fit is refused,
counted, logged once per interval, and seen again when the device re-sends its
discovery (it does on every hub birth). Known topics never come here (see MqttDiscovery).
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from hub.integrations.mqtt.client import ReceivedMessage
from hub.integrations.mqtt.const import (
    DISCOVERY_CLIENT_BURST,
    DISCOVERY_CLIENT_PER_S,
    DISCOVERY_MAX_WAITING_BYTES,
    DISCOVERY_MAX_WAITING_PER_CLIENT,
    DISCOVERY_MAX_WAITING_SHARED,
    DISCOVERY_REFUSAL_LOG_S,
    DISCOVERY_SHARED_BURST,
    DISCOVERY_SHARED_PER_S,
    DISCOVERY_TOTAL_BURST,
    DISCOVERY_TOTAL_PER_S,
    MAX_QUEUED_DISCOVERY,
)
from hub.integrations.mqtt.log_throttle import LogThrottle

_LOGGER = logging.getLogger(__name__)
SHARED_CLIENT = ""  # topics without a node id


@dataclass(frozen=True)
class AdmissionLimits:
    """Token buckets (burst, refill per second) and the bounds of the waiting queues."""

    client_burst: int = DISCOVERY_CLIENT_BURST
    client_per_s: float = DISCOVERY_CLIENT_PER_S
    shared_burst: int = DISCOVERY_SHARED_BURST
    shared_per_s: float = DISCOVERY_SHARED_PER_S
    total_burst: int = DISCOVERY_TOTAL_BURST
    total_per_s: float = DISCOVERY_TOTAL_PER_S
    max_waiting: int = MAX_QUEUED_DISCOVERY
    max_waiting_per_client: int = DISCOVERY_MAX_WAITING_PER_CLIENT
    max_waiting_shared: int = DISCOVERY_MAX_WAITING_SHARED
    max_waiting_bytes: int = DISCOVERY_MAX_WAITING_BYTES


class TokenBucket:
    """``capacity`` tokens, refilled at ``per_second``."""

    __slots__ = ("capacity", "per_second", "tokens", "updated")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity, self.per_second = capacity, per_second
        self.tokens, self.updated = float(capacity), now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.per_second)
        self.updated = now

    def seconds_until_token(self, now: float) -> float:
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second

    def take(self) -> None:
        self.tokens -= 1

    def give_back(self) -> None:
        self.tokens = min(self.capacity, self.tokens + 1)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class DiscoveryAdmission:
    """Waiting new topics per client, handed out as tokens allow."""

    def __init__(
        self, limits: AdmissionLimits, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._waiting: dict[str, OrderedDict[str, ReceivedMessage]] = {}
        self._ready: deque[str] = deque()  # clients with waiting topics, in turn
        self._resting: list[tuple[float, str]] = []  # (when, client) out of tokens
        self._buckets: dict[str, TokenBucket] = {}
        self._total = TokenBucket(limits.total_burst, limits.total_per_s, clock())
        self.waiting = 0
        self._waiting_bytes = 0
        self.refused = 0
        self.admitted = 0
        self._log = LogThrottle(
            _LOGGER,
            "Discovery flood: %s more new config topics refused in the last %g s",
            1,
            DISCOVERY_REFUSAL_LOG_S,
        )

    # Queueing (in the MQTT callback: constant time) -------------------------------
    def offer(self, client: str, message: ReceivedMessage) -> bool:
        """Queue a new topic's message; False (counted) when its client's queue is full."""
        queue = self._waiting.get(client)
        if queue is not None and message.topic in queue:
            old = queue[message.topic]  # the latest config replaces the one waiting
            self._waiting_bytes += len(message.payload) - len(old.payload)
            queue[message.topic] = message
            return True
        limit = (
            self._limits.max_waiting_shared
            if client == SHARED_CLIENT
            else self._limits.max_waiting_per_client
        )
        if (
            (queue is not None and len(queue) >= limit)
            or self.waiting >= self._limits.max_waiting
            or self._waiting_bytes + len(message.payload) > self._limits.max_waiting_bytes
        ):
            self._refuse(client)
            return False
        if queue is None:
            queue = self._waiting[client] = OrderedDict()
            self._ready.append(client)
        queue[message.topic] = message
        self.waiting += 1
        self._waiting_bytes += len(message.payload)
        return True

    def _refuse(self, client: str) -> None:
        self.refused += 1
        self._log.warn(
            "Discovery flood: refusing new config topics (first from client %r): their "
            "client's queue is full; devices send them again on the hub's next birth",
            client or "(no node id)",
        )

    def close(self) -> None:
        self._log.close()

    # Handing out (in the discovery worker) ----------------------------------------
    def seconds_until_ready(self) -> float | None:
        """None when nothing waits; 0 when a topic can be taken now."""
        if not self.waiting:
            return None
        now = self._clock()
        self._wake_rested(now)
        wait = self._total.seconds_until_token(now)
        if not self._ready:
            wait = max(wait, self._resting[0][0] - now) if self._resting else wait
        return max(wait, 0.0)

    def take(self) -> tuple[str, ReceivedMessage] | None:
        """The next waiting message whose client (and the hub) has a token, which it pays."""
        now = self._clock()
        self._wake_rested(now)
        if self._total.seconds_until_token(now) > 0:
            return None
        while self._ready:
            client = self._ready.popleft()
            queue = self._waiting.get(client)
            if not queue:
                continue
            bucket = self._bucket(client, now)
            rest = bucket.seconds_until_token(now)
            if rest > 0:
                heapq.heappush(self._resting, (now + rest, client))
                continue
            bucket.take()
            self._total.take()
            _topic, message = queue.popitem(last=False)
            self.waiting -= 1
            self._waiting_bytes -= len(message.payload)
            if queue:
                self._ready.append(client)
            else:
                del self._waiting[client]
            self.admitted += 1
            return client, message
        return None

    def give_back(self, client: str) -> None:
        """The message added nothing to the registry: its tokens are returned."""
        self._total.give_back()
        self.admitted -= 1
        bucket = self._buckets.get(client)
        if bucket is not None:
            bucket.give_back()

    def _bucket(self, client: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(client)
        if bucket is None:
            if len(self._buckets) > 4 * self._limits.max_waiting:
                # Full buckets are as good as new ones: forget them so clients seen
                # once do not pile up.
                self._buckets = {k: b for k, b in self._buckets.items() if not b.full(now)}
            shared = client == SHARED_CLIENT
            bucket = self._buckets[client] = TokenBucket(
                self._limits.shared_burst if shared else self._limits.client_burst,
                self._limits.shared_per_s if shared else self._limits.client_per_s,
                now,
            )
        return bucket

    def _wake_rested(self, now: float) -> None:
        while self._resting and self._resting[0][0] <= now:
            _when, client = heapq.heappop(self._resting)
            if client in self._waiting:
                self._ready.append(client)
