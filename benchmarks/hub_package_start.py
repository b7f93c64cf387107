"""Start of the hub as the Debian package installs it, with and without its precompiled
bytecode, in the same run.

The package's tree (``packaging/deb/build`` for this machine's architecture: the venv that
lands in /opt/ethos-hub, run by Debian's python3) is started as is ("bytecode"), and from a
copy without any ``__pycache__`` ("no bytecode"), with PYTHONDONTWRITEBYTECODE=1 because
the installed hub cannot write next to its code (ProtectSystem=strict): there, every start
compiles every module again. Both start `ethos hub serve` against a private Mosquitto holding
200 retained discovered sensors; "ready" is /healthz answering `running` with all 200
entities, timed from process spawn, rounds alternating between the two trees.

    .venv/bin/python -m benchmarks.hub_package_start [--rounds 5] [--stage DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.hub_common import (
    ENTITIES,
    ROOT,
    free_port,
    healthz_with_every_entity,
    load_averages,
    private_mosquitto,
    seed_discovery,
)

PREFIX = "bench_pkg"
VENV_IN_STAGE = Path("opt/ethos-hub")


def host_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def package_tree(stage: Path | None) -> Path:
    """The venv of a built package (built now unless ``stage`` names one)."""
    if stage is None:
        arch = host_arch()
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([str(ROOT / "packaging/deb/build"), arch, out], check=True)
        stage = ROOT / "build" / "deb" / f"stage-{arch}"
    return stage / VENV_IN_STAGE


def without_bytecode(venv: Path, target: Path) -> Path:
    shutil.copytree(venv, target, symlinks=True)
    for cache in list(target.rglob("__pycache__")):
        shutil.rmtree(cache)
    return target


def start_to_ready(venv: Path, data_dir: Path, broker_port: int) -> float:
    web_port = free_port()
    environment = {
        "PATH": "/usr/bin:/bin",
        "ETHOS_DATA_DIR": str(data_dir),
        "MQTT_URL": f"mqtt://127.0.0.1:{broker_port}",
        "ETHOS_HUB_DISCOVERY_PREFIX": PREFIX,
        "LOG_LEVEL": "ERROR",
        "PYTHONDONTWRITEBYTECODE": "1",  # as under ProtectSystem=strict
    }
    command = [str(venv / "bin/python3"), str(venv / "bin/ethos"), "hub", "serve"]
    started = time.perf_counter()
    proc = subprocess.Popen([*command, "--port", str(web_port)], cwd=data_dir, env=environment)
    try:
        healthz_with_every_entity(web_port, proc)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--stage", type=Path, help="a packaging/deb/build stage folder")
    args = parser.parse_args()
    venv = package_tree(args.stage.resolve() if args.stage else None)
    with tempfile.TemporaryDirectory() as tmp, private_mosquitto() as broker_port:
        trees = {"bytecode": venv, "no bytecode": without_bytecode(venv, Path(tmp) / "plain")}
        seed_discovery(broker_port, PREFIX)
        times: dict[str, list[float]] = {name: [] for name in trees}
        for round_number in range(args.rounds + 1):  # the first round warms the page cache
            for name, tree in trees.items():
                data_dir = Path(tmp) / f"data-{name.replace(' ', '-')}"
                data_dir.mkdir(exist_ok=True)
                elapsed = start_to_ready(tree, data_dir, broker_port)
                if round_number:
                    times[name].append(elapsed)
    print(f"hub start to ready with {ENTITIES} sensors, installed package tree ({load_averages()})")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(
            f"  {name:12s} median {medians[name]:.3f} s  ({', '.join(f'{v:.2f}' for v in values)})"
        )
    ratio = medians["no bytecode"] / medians["bytecode"]
    print(f"  without the bytecode a start takes {ratio:.2f}x as long")
    return 0


if __name__ == "__main__":
    sys.exit(main())
