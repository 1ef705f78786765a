"""A virtual serial cable: two linked ptys made by socat, one end for the agent, one for a simulator.

Ptys carry no baud timing and no modem lines, and some kernels refuse parity on them (even
always; odd too on the machine these tests were written on): use 8N1.
Removing the pair (stop) looks to the agent like an unplugged USB adapter.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

_START_DEADLINE_S = 5.0


class PtyLink:
    def __init__(self, agent_end: Path, simulator_end: Path | None = None) -> None:
        self.agent_end = Path(agent_end)
        self.simulator_end = Path(simulator_end or f"{agent_end}.sim")
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> Self:
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is not installed: apt-get install socat")
        for link in (self.agent_end, self.simulator_end):
            link.unlink(missing_ok=True)  # a stale link from a killed run would fool the wait below
        self._process = subprocess.Popen(
            [
                socat,
                f"pty,raw,echo=0,link={self.agent_end}",
                f"pty,raw,echo=0,link={self.simulator_end}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_DEADLINE_S
        while not (self.agent_end.exists() and self.simulator_end.exists()):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"socat did not create {self.agent_end} and {self.simulator_end}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None
        for link in (self.agent_end, self.simulator_end):
            link.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
