"""The agent, run as `edge-agent run` does, plus a thread that writes what only the process itself can
see: glibc's heap (`mallinfo2`: in use vs freed but held), SQLite's allocator (`sqlite3_memory_used`
and its high-water mark) and Python's allocated blocks.

    python benchmarks/soak_probe.py FIGURES_FILE INTERVAL_S -- run --config bench.yaml

One JSON line per sample is appended to FIGURES_FILE. With `SOAK_PROBE_MTRACE_AFTER_S=N` (and
glibc's debugging allocator preloaded, `LD_PRELOAD=libc_malloc_debug.so.0`, `MALLOC_TRACE=FILE`:
`memory_soak.py --mtrace` sets them), glibc's malloc trace starts N seconds in (`mtrace_live.py`).
With `SOAK_PROBE_TRIM_S=S` the agent trims every S seconds instead of its shipped period
(`memory_soak.py --scale-trim`: an accelerated run then trims after as many polls as the shipped one).
The sampler costs one thread waking every INTERVAL_S seconds and a few hundred bytes a sample; it
allocates nothing large (a big temporary, such as a list of all objects, would move glibc's mmap
threshold and change what is measured).
"""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edge_agent.cli import main as agent_main
from edge_agent.memory_trim import limit_malloc_arenas, trim_periodically

PYMALLOC = {
    "# arenas allocated current": "py_arenas",
    "# bytes in allocated blocks": "py_used",
    "# bytes in available blocks": "py_free",
}
FIELDS = (
    "arena",
    "ordblks",
    "smblks",
    "hblks",
    "hblkhd",
    "usmblks",
    "fsmblks",
    "uordblks",
    "fordblks",
    "keepcost",
)


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]  # the C struct's layout, in order


def _library(name: str) -> ctypes.CDLL | None:
    found = ctypes.util.find_library(name)
    try:
        return ctypes.CDLL(found) if found else None
    except OSError:
        return None


class Probe:
    """Reads the figures; a missing library (musl, a static SQLite) gives no figure, not an error."""

    def __init__(self) -> None:
        libc, sqlite = _library("c"), _library("sqlite3")  # the same libsqlite3 Python's sqlite3 uses
        self._mallinfo2 = getattr(libc, "mallinfo2", None)
        if self._mallinfo2 is not None:
            self._mallinfo2.restype = MallInfo2
        self._sqlite_used = getattr(sqlite, "sqlite3_memory_used", None)
        self._sqlite_high = getattr(sqlite, "sqlite3_memory_highwater", None)
        for function in (self._sqlite_used, self._sqlite_high):
            if function is not None:
                function.restype = ctypes.c_int64
        if self._sqlite_high is not None:
            self._sqlite_high.argtypes = [ctypes.c_int]

    def sample(self) -> dict[str, float]:
        figures: dict[str, float] = {"at": time.time(), "py_blocks": sys.getallocatedblocks()}
        if self._mallinfo2 is not None:
            info = self._mallinfo2()
            figures["malloc_used"] = info.uordblks + info.hblkhd  # in use: heap chunks + mmapped
            figures["malloc_free"] = info.fordblks  # freed, still held by glibc
            figures["malloc_mmapped"] = info.hblkhd
            figures["malloc_arena"] = info.arena  # taken from the system by brk/heaps (not mmapped)
        if self._sqlite_used is not None and self._sqlite_high is not None:
            figures["sqlite_used"] = self._sqlite_used()
            figures["sqlite_high"] = self._sqlite_high(0)
        return figures


def pymalloc() -> dict[str, float]:
    """Python's object allocator (arenas of 1 MiB, mmapped: not in mallinfo2), from
    `sys._debugmallocstats`, which writes only to the C stderr: that is sent to a file meanwhile."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    figures = {}
    for line in text.splitlines():
        label, _, value = line.partition("=")
        if (name := PYMALLOC.get(label.strip())) is not None:
            figures[name] = float(value.strip().replace(",", ""))
    if "py_arenas" in figures:
        figures["py_arenas"] *= 2**20  # arenas -> bytes (1 MiB each since Python 3.10)
    return figures


def collector() -> dict[str, float]:
    """The cyclic collector: full collections so far and the objects it tracks, by generation."""
    figures = {f"gc_gen{n}": float(len(gc.get_objects(n))) for n in range(3)}
    figures["gc_full_runs"] = float(gc.get_stats()[2]["collections"])
    return figures


CONTAINERS = (dict, list, set, collections.deque, collections.OrderedDict, collections.defaultdict)


def census() -> dict[str, int]:
    """Objects the collector tracks, by type (what the issue asks for: objects by type)."""
    return dict(collections.Counter(type(o).__qualname__ for o in gc.get_objects()))


def container_sizes(smallest: int = 16) -> dict[int, tuple[int, str]]:
    """id -> (length, what it is) of every container with `smallest` items or more: one dict that
    keeps growing counts once in `census`, its items (strings, numbers) not at all."""
    sizes = {}
    for o in gc.get_objects():
        if isinstance(o, CONTAINERS) and len(o) >= smallest:
            sizes[id(o)] = (len(o), _describe(o))
    return sizes


def _describe(o: Iterable[Any]) -> str:
    items = list(o.keys())[:3] if isinstance(o, dict) else list(o)[:2]
    return f"{type(o).__qualname__} {repr(items)[:160]}"


def _owner(o: object, ignore: set[int], depth: int = 4) -> str:
    """Who holds a container, a few steps up (an attribute's name, then its object's type): where a
    grower lives, which its items alone seldom tell. Plain loops: a comprehension here would make
    `o` a closure cell, which would then be found holding it."""
    chain: list[str] = []
    for _ in range(depth if o is not None else 0):
        holder = None
        for referrer in gc.get_referrers(o):
            if id(referrer) not in ignore and getattr(referrer, "f_code", None) is not _owner.__code__:
                holder = referrer
                break
        if holder is None:
            break
        chain.append(_held_as(o, holder))
        o = holder
    # Nothing found: held by C code, or by an object frozen at READY (`gc.freeze`), which
    # `gc.get_referrers` does not search.
    return " <- ".join(chain) or "a frozen start-up object or C"


def _held_as(o: object, holder: object) -> str:
    if isinstance(holder, dict):
        for key, value in holder.items():
            if value is o:
                return f".{key}"
        return "{...}"
    if isinstance(holder, type(sys._getframe())):
        return f"frame {holder.f_code.co_qualname}:{holder.f_lineno}"
    attributes = getattr(holder, "__dict__", None)  # kept inside the object itself since 3.11
    for key, value in attributes.items() if isinstance(attributes, dict) else ():
        if value is o:
            return f"{type(holder).__qualname__}.{key}"
    return type(holder).__qualname__


def growers(first: dict[int, tuple[int, str]], now: dict[int, tuple[int, str]]) -> list[str]:
    grown = [(size - first[key][0], size, what, key) for key, (size, what) in now.items() if key in first]
    new = [(size, size, "new " + what, key) for key, (size, what) in now.items() if key not in first]
    own = {id(first), id(now)}  # the census's own records
    top = [g for g in sorted(grown + new, reverse=True) if g[0] > 0 and g[3] not in own][:12]
    wanted = {g[3] for g in top}
    objects = {id(o): o for o in gc.get_objects() if id(o) in wanted}
    ignore = {id(objects)}
    return [f"{d:+} -> {size}: {what} in {_owner(objects.get(key), ignore)}" for d, size, what, key in top]


def _sampling(path: Path, interval_s: float) -> None:
    probe = Probe()
    collect = os.environ.get("SOAK_PROBE_COLLECT") == "1"  # a full collection before each sample
    census_every_s = float(os.environ.get("SOAK_PROBE_CENSUS_S", "0"))
    next_census = time.monotonic() + census_every_s
    first_sizes: dict[int, tuple[int, str]] | None = None
    with path.open("a", buffering=1) as out, path.with_suffix(".census").open("a", buffering=1) as types:
        while True:
            if collect:
                gc.collect()
            out.write(json.dumps({**probe.sample(), **pymalloc(), **collector()}) + "\n")
            if census_every_s and time.monotonic() >= next_census:
                sizes = container_sizes()
                first_sizes = first_sizes or sizes
                entry = {"at": time.time(), "types": census(), "growers": growers(first_sizes, sizes)}
                types.write(json.dumps(entry) + "\n")
                next_census += census_every_s
            time.sleep(interval_s)


def start_mtrace() -> bool:
    """glibc's malloc trace, on from now. libc.so.6 keeps a no-op `mtrace` as the default version of
    the name, the preloaded debugging allocator the working one under the older version: a plain
    look-up (ctypes' attribute) finds the no-op, so the versioned one is asked for by `dlvsym`."""
    debug = next((p for p in os.environ.get("LD_PRELOAD", "").split() if "malloc_debug" in p), None)
    if debug is None:
        return False
    libc = ctypes.CDLL(None)
    libc.dlvsym.restype = ctypes.c_void_p
    libc.dlvsym.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
    address = libc.dlvsym(ctypes.CDLL(debug)._handle, b"mtrace", b"GLIBC_2.2.5")
    if address:
        ctypes.CFUNCTYPE(None)(address)()
    return bool(address)


def _mtrace_later(after_s: float) -> None:
    time.sleep(after_s)
    start_mtrace()


def main() -> int:
    path, interval_s, separator, *agent_args = sys.argv[1:]
    if separator != "--":
        raise SystemExit(__doc__)
    limit_malloc_arenas()  # as the CLI does, but before this thread starts
    if (trim_s := os.environ.get("SOAK_PROBE_TRIM_S")) is not None:
        # The runtime calls it with no argument: its default is the period.
        trim_periodically.__defaults__ = (float(trim_s),)
    threading.Thread(target=_sampling, args=(Path(path), float(interval_s)), daemon=True).start()
    if (after_s := os.environ.get("SOAK_PROBE_MTRACE_AFTER_S")) is not None:
        threading.Thread(target=_mtrace_later, args=(float(after_s),), daemon=True).start()
    return agent_main(agent_args)


if __name__ == "__main__":
    sys.exit(main())
