"""The soak's arithmetic: least-squares slopes with their standard error, and the printed breakdown."""

from __future__ import annotations

import math
from collections.abc import Sequence

DAY_S = 86400
# figure -> (label, unit divisor, unit); bytes become MB (1e6) for slopes, as the goal is stated
PARTS = {
    "rss": ("RSS", 1e6, "MB"),
    "anon": ("anonymous memory (smaps_rollup)", 1e6, "MB"),
    "private_dirty": ("private dirty (smaps_rollup)", 1e6, "MB"),
    "malloc_used": ("glibc heap in use (mallinfo2)", 1e6, "MB"),
    "malloc_free": ("glibc heap freed but held", 1e6, "MB"),
    "malloc_arena": ("glibc heap taken by brk/heaps", 1e6, "MB"),
    "sqlite_used": ("SQLite memory used", 1e6, "MB"),
    "py_arenas": ("Python object arenas (pymalloc)", 1e6, "MB"),
    "py_used": ("Python objects in them", 1e6, "MB"),
    "py_blocks": ("Python allocated blocks", 1e3, "k blocks"),
    "gc_gen2": ("objects in the collector's oldest generation", 1e3, "k objects"),
    "gc_full_runs": ("full collections (cumulative)", 1, "runs"),
    "fds": ("open fds", 1, "fds"),
    "threads": ("threads", 1, "threads"),
}
BYTES = (
    "rss",
    "anon",
    "private_dirty",
    "malloc_arena",
    "malloc_used",
    "malloc_free",
    "sqlite_used",
    "py_arenas",
    "py_used",
)


def fit(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares slope of (seconds, value) per second, and its standard error."""
    n = len(points)
    if n < 3:
        return 0.0, math.inf
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    s_tt = sum((t - mean_t) ** 2 for t, _ in points) or 1.0
    slope = sum((t - mean_t) * (v - mean_v) for t, v in points) / s_tt
    residual = sum((v - mean_v - slope * (t - mean_t)) ** 2 for t, v in points)
    return slope, math.sqrt(residual / (n - 2) / s_tt)


def halves(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Slopes of the first and the second half: a cache still filling shows as first >> second."""
    middle = len(points) // 2
    return fit(points[: middle + 1])[0], fit(points[middle:])[0]


def floors(points: Sequence[tuple[float, float]], period_s: float) -> list[tuple[float, float]]:
    """The lowest value of each `period_s` window: RSS right after the agent's periodic
    `malloc_trim`, without the saw-tooth of what is freed but not yet handed back in between."""
    windows: dict[int, tuple[float, float]] = {}
    start = points[0][0]
    for t, v in points:
        key = int((t - start) // period_s)
        if key not in windows or v < windows[key][1]:
            windows[key] = (t, v)
    return [windows[key] for key in sorted(windows)]


def series(samples: Sequence[dict[str, float]], name: str) -> list[tuple[float, float]]:
    return [(s["t"], s[name]) for s in samples if name in s]


def per_day(points: Sequence[tuple[float, float]], divisor: float) -> str:
    slope, error = fit(points)
    first, second = halves(points)
    return (
        f"{slope * DAY_S / divisor:+.2f} ± {error * DAY_S / divisor:.2f}/day "
        f"(halves {first * DAY_S / divisor:+.2f}, {second * DAY_S / divisor:+.2f})"
    )


def breakdown(samples: Sequence[dict[str, float]], rows: int = 8) -> list[str]:
    """A table of the parts at `rows` times spread over the samples (MiB; Python blocks in k).
    No colons in it: the bench table (table.py) takes `label: value` lines as rows."""
    names = [n for n in BYTES if n in samples[0]]
    header = ["t s", *names, "py kblocks", "fds", "threads"]
    lines = ["  ".join(f"{h:>11}" for h in header)]
    step = max(1, (len(samples) - 1) // (rows - 1))
    for sample in [*samples[::step][: rows - 1], samples[-1]]:
        cells = [f"{sample['t']:.0f}", *(f"{sample[n] / 2**20:.2f}" for n in names)]
        counts = (sample.get("py_blocks", 0) / 1e3, sample["fds"], sample["threads"])
        cells += [f"{counts[0]:.1f}", f"{counts[1]:.0f}", f"{counts[2]:.0f}"]
        lines.append("  ".join(f"{c:>11}" for c in cells))
    return lines
