"""What the hub writes to its disk (an SD card on a Raspberry Pi): ``write_bytes`` from
``/proc/<pid>/io`` while 200 entities change once a second, and while nothing changes;
this checkout against earlier code (a ``git worktree`` of ``--baseline``, by default the
branch point with main), side by side in the same run.

Each hub is `ethos hub serve` of its checkout (default integrations, not linked) with its own
private Mosquitto holding 200 retained sensor configs, and its own data folder on a real
disk (write_bytes counts what reaches the block layer; on tmpfs it would stay 0). After
ready, each settles (registries are written some seconds after discovery), then: an idle
window with no message at all, then the load: a publisher sends each of the 200 states a
new value every second for the duration. The counters are read before and after each
window, the last commit included. Rows recorded in the history are counted afterwards, so
both hubs are seen to keep the same history.

    .venv/bin/python -m benchmarks.hub_disk_writes              # 10 minutes of load
    .venv/bin/python -m benchmarks.hub_disk_writes --quick      # 1 minute, 20 s idle
    .venv/bin/python -m benchmarks.hub_disk_writes --commit-seconds 1  # today's interval
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from benchmarks.hub_common import (
    ENTITIES,
    ROOT,
    checkout_of,
    compile_bytecode,
    healthz_with_every_entity,
    load_averages,
    private_mosquitto,
    resolve_ref,
    seed_discovery,
    serve_hub,
)

PREFIX = "disk_ha"
SETTLE_S = 20.0  # registries are written 10 s after the last discovery; commits every 5 s
TAIL_S = 7.0  # after the load: the last batch reaches the disk
LOAD = r"""
import sys, time, paho.mqtt.client as mqtt
port, seconds, entities = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="disk-load")
client.connect("127.0.0.1", port)
client.loop_start()
start = time.monotonic()
tick = 0
while time.monotonic() - start < seconds:
    for i in range(entities):
        client.publish(f"bench/{i}/state", str((tick + i) % 1000), qos=0)
    tick += 1
    time.sleep(max(0.0, start + tick - time.monotonic()))
client.loop_stop()
client.disconnect()
print(tick)
"""


def write_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError("no write_bytes in /proc/<pid>/io")


def history_rows(hub_dir: Path) -> int:
    """Rows in either history layout: today's history.db, or hub.db of the SQLModel hubs."""
    for name, table in (("history.db", "states"), ("hub.db", "hub_state_history")):
        if (hub_dir / name).exists():
            with closing(sqlite3.connect(hub_dir / name)) as conn:
                return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return 0


def filesystem_of(path: Path) -> str:
    best = ("", "?")
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, kind, *_ = line.split()
        if str(path).startswith(mount) and len(mount) > len(best[0]):
            best = (mount, kind)
    return best[1]


@dataclass
class Run:
    label: str
    checkout: Path
    env: dict[str, str]
    idle_bytes: int = 0
    load_bytes: int = 0
    ticks: int = 0
    rows: int = 0
    error: str | None = None


def measure(run: Run, data_root: Path, idle_s: float, load_s: float) -> None:
    try:
        with private_mosquitto() as port, tempfile.TemporaryDirectory(dir=data_root) as folder:
            seed_discovery(port, PREFIX)
            proc, web_port = serve_hub(
                run.checkout, Path(folder), port, PREFIX, quiet=True, **run.env
            )
            try:
                healthz_with_every_entity(web_port, proc)
                time.sleep(SETTLE_S)
                before = write_bytes(proc.pid)
                time.sleep(idle_s)
                run.idle_bytes = write_bytes(proc.pid) - before
                before = write_bytes(proc.pid)
                load = subprocess.run(
                    [sys.executable, "-c", LOAD, str(port), str(load_s), str(ENTITIES)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                run.ticks = int(load.stdout.strip())
                time.sleep(TAIL_S)
                run.load_bytes = write_bytes(proc.pid) - before
            finally:
                proc.terminate()
                proc.wait(30)
            run.rows = history_rows(Path(folder) / "hub")
    except Exception as err:  # reported beside the other run's figures
        run.error = f"{type(err).__name__}: {err}"


def main(
    baseline: str, minutes: float, idle_s: float, data_root: Path, commit_s: float | None
) -> None:
    commit = resolve_ref(baseline)
    data_root.mkdir(parents=True, exist_ok=True)
    print(f"baseline: {baseline} = {commit[:12]}; this checkout: {ROOT}")
    print(f"data folders under {data_root} ({filesystem_of(data_root.resolve())})")
    print(f"before: {load_averages()}")
    with checkout_of(commit) as earlier:
        this_env = {} if commit_s is None else {"ETHOS_HUB_HISTORY_COMMIT_SECONDS": str(commit_s)}
        runs = [Run("earlier", earlier, {}), Run("this", ROOT, this_env)]
        for run in runs:
            compile_bytecode(run.checkout)
        threads = [
            threading.Thread(target=measure, args=(run, data_root, idle_s, minutes * 60))
            for run in runs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print(f"after:  {load_averages()}")
    if commit_s is not None:
        print(f"this checkout ran with ETHOS_HUB_HISTORY_COMMIT_SECONDS={commit_s:g}")
    print(
        f"\n{ENTITIES} entities; idle {idle_s:.0f} s; load {minutes:g} min "
        f"({ENTITIES} state changes/s); side by side in this run"
    )
    for run in runs:
        if run.error:
            print(f"  {run.label:8s} FAILED: {run.error}")
            continue
        print(
            f"  {run.label:8s} idle {run.idle_bytes:>12,d} B   load {run.load_bytes:>13,d} B "
            f"({run.load_bytes / (minutes * 60) / 1024:,.1f} KiB/s)   "
            f"history rows {run.rows:,d} after {run.ticks} ticks"
        )
    earlier_run, this_run = runs
    if not (earlier_run.error or this_run.error) and earlier_run.load_bytes:
        ratio = this_run.load_bytes / earlier_run.load_bytes
        print(f"  ratio this / earlier under load: {ratio:.3f} (goal <= 0.333)")
        print(f"  idle writes of this checkout: {this_run.idle_bytes} B (goal 0)")
    print(json.dumps({r.label: r.__dict__ | {"checkout": str(r.checkout)} for r in runs}))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="merge-base:main", help="git ref of earlier code")
    parser.add_argument("--minutes", type=float, default=10.0, help="minutes of load")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="1 minute of load, 20 s idle")
    parser.add_argument(
        "--commit-seconds", type=float, help="this checkout's history commit interval"
    )
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(tempfile.gettempdir()) / "ethos-disk-writes",
        help="where the hubs' data folders go (a real disk, not tmpfs)",
    )
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.idle_seconds = 1.0, 20.0
    main(args.baseline, args.minutes, args.idle_seconds, args.data_root, args.commit_seconds)
