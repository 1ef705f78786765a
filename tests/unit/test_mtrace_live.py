"""The soak's reading of glibc's malloc trace (benchmarks/mtrace_live.py): what is still held, when made."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from mtrace_live import live, summary  # benchmarks is not a package

LEAKY = "/usr/lib/libleaky.so:(keep+0x1f)"
TIDY = "/usr/lib/libtidy.so:(work+0x2a)"


def _log(path: Path, rounds: int) -> Path:
    """Each round: TIDY allocates and frees, LEAKY allocates 0x40 bytes for good; a realloc moves one."""
    lines = ["= Start"]
    for n in range(rounds):
        lines += [f"@ {TIDY}[0x1000] + 0xa{n:04x} 0x100", f"@ {TIDY}[0x1010] - 0xa{n:04x}"]
        lines += [f"@ {LEAKY}[0x2000] + 0xb{n:04x} 0x40"]
    lines += [
        f"@ {TIDY}[0x1000] + 0xc0000 0x20",
        f"@ {TIDY}[0x1020] < 0xc0000",
        f"@ {TIDY}[0x1020] > 0xc0010 0x80",
    ]
    lines += ["@ /usr/lib/libtidy.so:[0x1030] - 0xffff", "= End"]  # freed, made before the trace
    path.write_text("\n".join(lines) + "\n")
    return path


def test_what_is_freed_is_gone_and_a_realloc_moves_the_block(tmp_path: Path) -> None:
    held = live(_log(tmp_path / "trace", 100))
    assert sorted({caller for _, caller, _ in held.values()}) == [LEAKY.encode(), TIDY.encode()]
    assert [size for _, caller, size in held.values() if caller == TIDY.encode()] == [0x80]


def test_a_leak_shows_in_every_fifth_and_is_ranked_first(tmp_path: Path) -> None:
    totals, callers = summary(_log(tmp_path / "trace", 100))
    assert all(total > 0 for total in totals)
    assert sum(totals) == 100 * 0x40 + 0x80
    assert callers[0].endswith(LEAKY)


def test_a_limit_reads_the_log_only_up_to_there(tmp_path: Path) -> None:
    path = _log(tmp_path / "trace", 100)
    half = path.stat().st_size // 2
    assert 0 < sum(summary(path, half)[0]) < sum(summary(path)[0])
