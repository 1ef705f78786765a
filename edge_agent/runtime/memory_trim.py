"""Hands memory freed after start-up back to the OS (glibc keeps it otherwise).

Building the config and payload models allocates a lot that is freed again once the agent runs;
on a 1 GB cabinet controller those megabytes matter for months. A no-op off glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc


def release_free_memory() -> None:
    gc.collect()
    name = ctypes.util.find_library("c")
    if not name:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and others have no malloc_trim
        return
    trim(0)
