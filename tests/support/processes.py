"""Helpers for tests that start small stand-in processes."""

from __future__ import annotations

import time
from pathlib import Path


def wait_exec(pid: int, word: bytes = b"edge-agent", deadline_s: float = 10) -> None:
    """Right after fork a child still shows its parent's command line: wait until it shows `word`."""
    deadline = time.monotonic() + deadline_s
    while word not in Path(f"/proc/{pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, f"pid {pid} never showed {word!r} in its command line"
        time.sleep(0.01)
