"""The hub gives the memory its start freed back to the kernel (glibc's malloc_trim)."""

from __future__ import annotations

from tests.support.processes import run_python_code

# Twenty megabytes in C-heap blocks (larger than pymalloc's 512 bytes), all freed but the
# last one, which pins the heap's top so that glibc's own trimming cannot give it back.
FREED_BUT_MAPPED = """
import sys
from hub.memory import release_free_heap

def resident_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))

blocks = [bytearray(1000) for _ in range(20_000)]
pinned = blocks[-1]
del blocks
before = resident_kb()
released = release_free_heap()
print(released, before - resident_kb())
"""


def test_release_free_heap_gives_freed_memory_back() -> None:
    result = run_python_code(FREED_BUT_MAPPED)
    assert result.returncode == 0, result.stderr
    released, fallen_kb = result.stdout.split()
    assert released == "True"
    assert int(fallen_kb) > 10_000  # most of the twenty megabytes left resident memory
