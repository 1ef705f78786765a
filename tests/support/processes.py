"""Helpers for tests that start small stand-in processes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

_STOP_DEADLINE_S = 10.0
# How often readiness is re-probed; the wait doubles as the "did it exit?" check.
_PROBE_INTERVAL_S = 0.05

T = TypeVar("T")


def wait_exec(pid: int, word: bytes = b"edge-agent", deadline_s: float = 10) -> None:
    """Right after fork a child still shows its parent's command line: wait until it shows `word`."""
    deadline = time.monotonic() + deadline_s
    while word not in Path(f"/proc/{pid}/cmdline").read_bytes():
        assert time.monotonic() < deadline, f"pid {pid} never showed {word!r} in its command line"
        time.sleep(0.01)


def stop_process(
    process: subprocess.Popen[bytes] | None, sig: signal.Signals, deadline_s: float = _STOP_DEADLINE_S
) -> None:
    """Send *sig* to a running *process* and wait; SIGKILL it when it outlives *deadline_s*."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=deadline_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_while_alive(
    process: subprocess.Popen[bytes], probe: Callable[[], T | None], deadline_s: float
) -> T | None:
    """Call *probe* until it returns a value; None once *process* has ended or *deadline_s* has passed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        try:
            # Waiting on the process is both the retry delay and the "did it die?" check.
            process.wait(timeout=_PROBE_INTERVAL_S)
            return None
        except subprocess.TimeoutExpired:
            continue
    return None
