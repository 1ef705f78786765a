"""Hands memory freed by the agent back to the OS (glibc keeps it otherwise).

Building the config and payload models allocates a lot that is freed again once the agent runs;
on a 1 GB cabinet controller those megabytes matter for months. Left alone, glibc also gives each
thread that allocates (the outbox worker, `to_thread` workers, paho) its own heap arena and keeps
what it freed there: RSS crept up ~45 MB a day without any Python object growing (tracemalloc
diffs over a soak showed none). So the agent limits the arenas at start and trims every
`TRIM_INTERVAL_S`.

It also fixes glibc's mmap threshold. By default the threshold is dynamic: once a large block
(128 KiB or more, mmapped) is freed, blocks up to that size go to the heap from then on. The agent
(its libraries) makes large short-lived buffers as it polls (asyncio's socket transports receive
into a 256 KiB buffer and shrink it to what arrived, on every read); on the heap they land among
long-lived blocks, and the heap's extent grew ~90 MB a day at the shipped intervals with the
memory in use flat (`mallinfo2()` sampled by `benchmarks/memory_soak.py`). With the threshold
fixed, such buffers are mapped and unmapped whole and the heap stops growing. A no-op off glibc.

And it runs Python's full collection itself. Python starts one only when the objects surviving
into its oldest generation have grown by a quarter since the last: with the ~90,000 objects the
agent's imports leave there, every few days. Meanwhile cyclic garbage that lived long enough to be
promoted (closed socket transports of the link probe and the cameras, their timers and contexts,
~26 transports in 5 minutes) piled up for days. So what start-up built, which lives as long as the
agent, is frozen at READY (out of every later collection: a full one then takes ~1 ms instead of
~15), and each trim period starts with a full collection.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import gc

TRIM_INTERVAL_S = 300.0
ARENAS = 2
MMAP_THRESHOLD_BYTES = 64 * 1024  # blocks this large are mmapped (glibc's default start: 128 KiB)
_M_ARENA_MAX = -8  # glibc's mallopt parameter numbers
_M_MMAP_THRESHOLD = -3


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """Found and loaded once: `find_library` runs `ldconfig -p`, and each `CDLL` builds a new class."""
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


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """At most `arenas` glibc heaps for all threads, and a fixed mmap threshold (see above); call
    before threads start (the CLI does). False where there is no glibc `mallopt`."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return False
    # mallopt returns 1 on success; setting the threshold also turns its dynamic adjustment off.
    return bool(mallopt(_M_ARENA_MAX, arenas)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def freeze_startup() -> None:
    """At READY: collect, then keep what is left (start-up's objects) out of later collections."""
    release_free_memory()
    gc.freeze()


async def trim_periodically(interval_s: float = TRIM_INTERVAL_S) -> None:
    """A task of the agent: collect garbage and give freed heap back, every `interval_s`."""
    while True:
        await asyncio.sleep(interval_s)
        gc.collect()  # on the loop's thread, where the finalisers of asyncio's objects belong
        await asyncio.to_thread(release_free_memory, collect=False)
