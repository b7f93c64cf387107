"""Give the memory the hub's start has freed back to the system (a Raspberry Pi's RAM).

Starting makes and drops many short-lived objects (manifests, JSON documents, byte code
read from disk); CPython returns them to the C heap, which keeps the freed pages mapped.
glibc's ``malloc_trim`` hands those pages back to the kernel: resident memory falls,
nothing in the hub changes. On a C library without it (musl), nothing happens.
"""

from __future__ import annotations

import ctypes
import logging

_LOGGER = logging.getLogger(__name__)


def release_free_heap() -> bool:
    """Return the C heap's free pages to the kernel; False when the C library cannot."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        _LOGGER.debug("no malloc_trim in this C library: freed memory stays mapped")
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return bool(malloc_trim(0))
