"""What automations cost the hub, measured side by side in one run (one process, one loop).

1. Trigger to first service call, with N automations loaded (default 500, each watching
   its own entity, with a state condition): the time from ``states.async_set`` of the
   watched entity to the moment the automation's service handler starts, p50 and p99.
   Beside it, in alternating rounds, two baselines on the same hub:
   - "listener": the least an event-driven integration does for the same effect — a bus
     listener on ``state_changed`` that starts a task calling the same service;
   - "direct": ``await services.async_call(...)`` from the measuring coroutine.
   Samples go round-robin over the automations (none is triggered fast enough to meet the
   loop throttle).
   On a shared machine, the p99 of the longest path is the first to show other processes:
   a sample the OS preempts waits a scheduler tick (4 ms here); the load average is printed.
2. A state change of an entity no automation watches: median time per ``async_set`` on a
   hub with the N automations against a hub without the automation integration, in
   alternating rounds, and the ratio.

    .venv/bin/python -m benchmarks.hub_automation_latency [--automations 500]
        [--samples 3000] [--changes 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from pathlib import Path

from hub.core.config import HubConfig
from hub.core.hub import Hub
from hub.core.services import ServiceCall
from hub.integrations.automation.const import AUTOMATIONS_FILE


def automations_yaml(count: int) -> str:
    blocks = []
    for index in range(count):
        blocks.append(
            f"""- id: a{index}
  alias: Automation {index}
  mode: parallel
  triggers:
    - trigger: state
      entity_id: binary_sensor.b{index}
      to: "on"
  conditions:
    - condition: state
      entity_id: input_boolean.enabled
      state: "on"
  actions:
    - action: bench.record
      data: {{n: {index}}}
"""
        )
    return "".join(blocks) or "[]\n"


async def start_hub(folder: Path, automations: int | None) -> Hub:
    """A hub with the automation integration and ``automations`` of them, or (None) a hub
    without the integration at all."""
    config = HubConfig(
        data_dir=folder, integrations=("automation",) if automations is not None else ()
    )
    config.hub_dir.mkdir(parents=True, exist_ok=True)
    (config.hub_dir / AUTOMATIONS_FILE).write_text(automations_yaml(automations or 0))
    hub = Hub(config)
    await hub.async_start()
    return hub


class Stopwatch:
    """The service handler: notes when it was entered and wakes the measurer."""

    def __init__(self) -> None:
        self.entered = 0.0
        self.called = asyncio.Event()

    async def __call__(self, _call: ServiceCall) -> None:
        self.entered = time.perf_counter()
        self.called.set()


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def measure_latency(
    hub: Hub, count: int, samples: int, rounds: int
) -> dict[str, list[float]]:
    watch = Stopwatch()
    hub.services.async_register("bench", "record", watch)
    hub.states.async_set("input_boolean.enabled", "on")
    for index in range(count):
        hub.states.async_set(f"binary_sensor.b{index}", "off")
    results: dict[str, list[float]] = {"automation": [], "listener": [], "direct": []}

    listener_entity = "binary_sensor.listener"
    hub.states.async_set(listener_entity, "off")

    def listener(event) -> None:  # type: ignore[no-untyped-def]
        new = event.data["new_state"]
        if event.data["entity_id"] == listener_entity and new is not None and new.state == "on":
            hub.async_create_task(hub.services.async_call("bench", "record", {"n": -1}), "bench")

    hub.bus.async_listen("state_changed", listener)
    per_round = max(1, samples // rounds)
    next_automation = 0
    for _round in range(rounds):
        for kind in ("automation", "listener", "direct"):
            for _ in range(per_round):
                watch.called.clear()
                if kind == "automation":
                    entity = f"binary_sensor.b{next_automation % count}"
                    next_automation += 1
                    started = time.perf_counter()
                    hub.states.async_set(entity, "on")
                    await watch.called.wait()
                    hub.states.async_set(entity, "off")
                elif kind == "listener":
                    started = time.perf_counter()
                    hub.states.async_set(listener_entity, "on")
                    await watch.called.wait()
                    hub.states.async_set(listener_entity, "off")
                else:
                    started = time.perf_counter()
                    await hub.services.async_call("bench", "record", {"n": -1})
                results[kind].append(watch.entered - started)
                await asyncio.sleep(0)  # let the run finish before the next sample
    return results


def time_changes(hub: Hub, changes: int) -> float:
    """Seconds per state change of an entity nobody watches."""
    set_state = hub.states.async_set
    started = time.perf_counter()
    for index in range(changes):
        set_state("sensor.unwatched", str(index))
    return (time.perf_counter() - started) / changes


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as with_dir, tempfile.TemporaryDirectory() as bare_dir:
        loaded = await start_hub(Path(with_dir), args.automations)
        bare = await start_hub(Path(bare_dir), None)
        try:
            gc.collect()
            latency = await measure_latency(loaded, args.automations, args.samples, args.rounds)
            unwatched: dict[str, list[float]] = {"with": [], "without": []}
            for _round in range(args.rounds):
                unwatched["without"].append(time_changes(bare, args.changes))
                unwatched["with"].append(time_changes(loaded, args.changes))
        finally:
            await loaded.async_stop()
            await bare.async_stop()

    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Automations loaded: {args.automations}; samples per kind: {len(latency['direct'])}")
    print(f"Load average (1/5/15 min) at the end: {load} on {os.cpu_count()} cores")
    print("1. Trigger to first service call (microseconds)")
    for kind, label in (
        ("automation", "automation (state trigger, condition)"),
        ("listener", "listener starting a task (baseline)"),
        ("direct", "direct awaited service call"),
    ):
        values = latency[kind]
        p50, p99 = percentile(values, 0.5) * 1e6, percentile(values, 0.99) * 1e6
        print(f"   {label:40s} p50 {p50:8.1f}   p99 {p99:8.1f}")
    auto99 = percentile(latency["automation"], 0.99)
    print(
        f"   p99 automation / listener: {auto99 / percentile(latency['listener'], 0.99):.2f}x;"
        f" / direct: {auto99 / percentile(latency['direct'], 0.99):.2f}x"
    )
    with_median = statistics.median(unwatched["with"])
    without_median = statistics.median(unwatched["without"])
    print("2. State change of an unwatched entity (microseconds per change, median of rounds)")
    print(f"   without the automation integration {without_median * 1e6:8.2f}")
    print(f"   with {args.automations} automations loaded     {with_median * 1e6:8.2f}")
    print(f"   ratio {with_median / without_median:.3f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--automations", type=int, default=500)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--changes", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
