"""What glibc's malloc trace says is still allocated: `memory_soak.py --mtrace` (issue 12).

`mallinfo2()`'s "in use" is not only what the program holds: chunks a thread freed into its own
cache (glibc's tcache: up to 7 chunks per size class up to 1 KiB, per thread) still count as in
use. glibc's `mtrace` logs every malloc, realloc and free with the calling library and function,
whatever the language of the caller (lxml, SQLite, pydantic-core, OpenSSL, Python itself), so the
allocations made after the warm-up and never freed are exactly what the program still holds. They
are split by the fifth of the run in which they were made: a leak leaves some in every fifth,
work in flight at the end only in the last.

    python benchmarks/mtrace_live.py MALLOC_TRACE_FILE [BYTES]   # BYTES: read the log up to there
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

FIFTHS = 5
# "@ /lib/libx.so:(function+0x1f)[0x1234] + 0x55d0 0x40": caller, operation, pointer, size
_LINE = re.compile(rb"^@ (.*?)\[0x[0-9a-f]+\] ([-+<>]) (0x[0-9a-f]+)(?: (0x[0-9a-f]+))?")


def live(path: Path, limit: int | None = None) -> dict[bytes, tuple[int, bytes, int]]:
    """Pointer -> (fifth of the log it was allocated in, caller, size) of the blocks still held."""
    size = limit if limit is not None else path.stat().st_size
    held: dict[bytes, tuple[int, bytes, int]] = {}
    with path.open("rb") as log:
        while log.tell() < size and (line := log.readline()):
            if (match := _LINE.match(line)) is None:
                continue
            caller, operation, pointer, length = match.groups()
            if operation in (b"+", b">"):  # malloc/calloc/memalign, or realloc's new block
                fifth = min(FIFTHS - 1, log.tell() * FIFTHS // max(size, 1))
                held[pointer] = (fifth, caller.strip() or b"?", int(length or b"0", 16))
            else:  # free, or realloc's old block (those made before the trace are not there)
                held.pop(pointer, None)
    return held


def summary(path: Path, limit: int | None = None, top: int = 8) -> tuple[list[int], list[str]]:
    """Bytes still held by fifth, and the callers holding most outside the last fifth."""
    by_caller: dict[bytes, list[int]] = defaultdict(lambda: [0] * FIFTHS)
    for fifth, caller, size in live(path, limit).values():
        by_caller[caller][fifth] += size
    totals = [sum(sizes[i] for sizes in by_caller.values()) for i in range(FIFTHS)]
    ranked = sorted(by_caller.items(), key=lambda item: -sum(item[1][:-1]))[:top]
    lines = [
        f"{sum(sizes[:-1]) / 1024:8.1f} KiB before the last fifth, {sizes[-1] / 1024:.1f} in it: "
        + caller.decode(errors="replace")[-110:]
        for caller, sizes in ranked
        if sum(sizes)
    ]
    return totals, lines


def main() -> None:
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    totals, lines = summary(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else None)
    print("still held, KiB by fifth of the trace:", " ".join(f"{t / 1024:.1f}" for t in totals))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
