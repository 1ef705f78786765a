"""Hands memory freed by the agent back to the OS (glibc keeps it otherwise).

Building the config and payload models allocates a lot that is freed again once the agent runs;
on a 1 GB cabinet controller those megabytes matter for months. Left alone, glibc also gives each
thread that allocates (the outbox worker, `to_thread` workers, paho) its own heap arena and keeps
what it freed there: RSS crept up ~45 MB a day without any Python object growing (tracemalloc
diffs over a soak showed none). So the agent limits the arenas at start and trims every
`TRIM_INTERVAL_S`. A no-op off glibc.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc

TRIM_INTERVAL_S = 300.0
ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name)
    except OSError:
        return None


def release_free_memory(*, collect: bool = True) -> None:
    if collect:
        gc.collect()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None)  # musl and others have none
    if trim is not None:
        trim(0)


def limit_malloc_arenas(arenas: int = ARENAS) -> None:
    """At most `arenas` glibc heaps for all threads; call before threads start (the CLI does)."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_ARENA_MAX, arenas)


async def trim_periodically(interval_s: float = TRIM_INTERVAL_S) -> None:
    """A task of the agent: give freed heap back now and then (no gc pass: Python runs its own)."""
    while True:
        await asyncio.sleep(interval_s)
        await asyncio.to_thread(release_free_memory, collect=False)
