"""The ceiling of glibc's thread caches, which `mallinfo2()` counts as memory in use (issue 12).

glibc keeps, per thread, a cache of chunks that thread freed (tcache: up to 7 chunks per size
class, 64 classes of 16 bytes up to 1,032 bytes) and counts them as in use. The memory soak's
"glibc in use" grows while the agent's threads fill theirs (the malloc trace shows nothing held,
see memory_soak.py). Here threads allocate and free 8 blocks of every class, filling their caches,
and the growth of "in use" is printed per thread: the ceiling the soak's figure approaches, times
the agent's threads. Then again in a child with the caches off (`glibc.malloc.tcache_count=0`).

    python benchmarks/tcache_ceiling.py [--threads 4]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import threading

from soak_probe import Probe
from table import emit

_libc = ctypes.CDLL("libc.so.6")
_libc.malloc.restype = ctypes.c_void_p
_libc.malloc.argtypes = [ctypes.c_size_t]
_libc.free.argtypes = [ctypes.c_void_p]
SIZES = range(24, 1033, 16)  # one request size in each of the 64 cached size classes


def fill_cache() -> None:
    for size in SIZES:
        blocks = [_libc.malloc(size) for _ in range(8)]  # one more than the cache keeps
        for block in blocks:
            _libc.free(block)


def in_use() -> float:
    return Probe().sample()["malloc_used"]


def growth_per_thread(threads: int) -> tuple[float, float]:
    """In-use growth per thread with `threads` threads alive, and what is left when they end."""
    release, before, workers = threading.Event(), in_use(), []
    for _ in range(threads):
        filled = threading.Event()
        worker = threading.Thread(target=lambda f=filled: (fill_cache(), f.set(), release.wait()))
        worker.start()
        filled.wait()
        workers.append(worker)
    alive = in_use() - before
    release.set()
    for worker in workers:
        worker.join()
    return alive / threads, in_use() - before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    per_thread, left = growth_per_thread(args.threads)
    if args.child:
        print(per_thread)
        return
    off = {**os.environ, "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}
    child = [sys.executable, __file__, "--child", "--threads", str(args.threads)]
    without = float(subprocess.run(child, env=off, capture_output=True, text=True, check=True).stdout)
    emit(
        "glibc in use per thread with a full tcache",
        f"{per_thread / 1024:.1f} KiB",
        f"{args.threads} threads; {without / 1024:.1f} KiB with the caches off; "
        f"{left / 1024:.1f} KiB in all once the threads ended (their caches are freed)",
    )


if __name__ == "__main__":
    main()
