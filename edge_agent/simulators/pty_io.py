"""Non-blocking byte IO on the simulator's end of a pty pair, for use inside asyncio."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel

from edge_agent.simulators.scenario import load_scenario, until_stopped

M = TypeVar("M", bound=BaseModel)


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


class PtySimulator(Protocol):
    async def run(self) -> None: ...


def run_pty_simulator(
    description: str,
    scenario_model: type[M],
    make: Callable[[M, PtyEnd], PtySimulator],
    label: Callable[[M], str],
) -> None:
    """The command line of a serial-device simulator: `--link PATH --scenario FILE`, until SIGTERM.

    Creates the socat pty pair (the agent opens PATH), plays the scenario on the simulator's end.
    """
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--link", required=True, help="path the agent opens (a socat pty pair is created)")
    parser.add_argument("--scenario", required=True, type=Path)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(Path(args.link), load_scenario(args.scenario, scenario_model), make, label))


async def _serve(
    link_path: Path, scenario: M, make: Callable[[M, PtyEnd], PtySimulator], label: Callable[[M], str]
) -> None:
    from edge_agent.simulators.pty_link import PtyLink

    with PtyLink(link_path) as link:
        end = PtyEnd(link.simulator_end)
        end.open()
        print(f"{label(scenario)}: agent port {link.agent_end}", flush=True)
        simulator = asyncio.get_running_loop().create_task(make(scenario, end).run())
        try:
            await until_stopped()
        finally:
            simulator.cancel()
            end.close()
