"""Non-blocking byte IO on the simulator's end of a pty pair, for use inside asyncio."""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable
from pathlib import Path


class PtyEnd:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self.dropped_bytes = 0

    def open(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        with contextlib.suppress(termios.error):
            tty.setraw(fd)
        self._fd = fd

    def write(self, data: bytes) -> None:
        """Write what fits; a reader that does not keep up loses bytes, like a real UART."""
        if self._fd is None or not data:
            return
        try:
            written = os.write(self._fd, data)
        except (BlockingIOError, OSError):
            written = 0
        self.dropped_bytes += len(data) - written

    def on_readable(self, callback: Callable[[bytes], None]) -> None:
        """Call `callback` with each chunk that arrives (asyncio reader on the fd)."""
        assert self._fd is not None
        fd = self._fd

        def ready() -> None:
            try:
                chunk = os.read(fd, 4096)
            except (BlockingIOError, OSError):
                return
            if chunk:
                callback(chunk)

        asyncio.get_running_loop().add_reader(fd, ready)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(fd)
            os.close(fd)
