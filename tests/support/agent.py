"""Run the agent in tests: as a real subprocess (for kill -9 and signals) or in-process (to inspect it)."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import yaml

from edge_agent.config import AgentConfig, load_config
from edge_agent.runtime.agent import Agent


def write_config(
    directory: Path,
    *,
    port: int,
    devices: list[dict[str, Any]] | None = None,
    cabinet_id: str = "cab-test",
    mqtt: dict[str, Any] | None = None,
    name: str = "agent.yaml",
    **sections: Any,
) -> Path:
    """A cabinet config for a loopback broker, with fast reconnects; sections override defaults."""
    directory.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {
        "cabinet": {"id": cabinet_id, "site": "test bench"},
        "mqtt": {
            "host": "127.0.0.1",
            "port": port,
            "keepalive_s": 5,
            "reconnect_min_s": 0.2,
            "reconnect_max_s": 1,
            **(mqtt or {}),
        },
        "storage": {"data_dir": "data"},
        "logging": {"level": "INFO"},
        "devices": devices or [],
    }
    document.update(sections)
    path = directory / name
    path.write_text(yaml.safe_dump(document))
    return path


class AgentProcess:
    """`edge-agent run` as a child process; stderr goes to a file the test can read."""

    def __init__(
        self, config_path: Path, *, env: dict[str, str] | None = None, prefix: list[str] | None = None
    ) -> None:
        self.config_path = config_path
        self.prefix = prefix or []  # e.g. `ip netns exec <ns>`: the agent runs in a test namespace
        self.log_path = config_path.with_suffix(".log")
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> AgentProcess:
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "edge_agent", "run", "--config", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            env=self.env,
        )
        return self

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash or a power cut of the host."""
        self._signal(signal.SIGKILL)

    def terminate(self, timeout: float = 20) -> int:
        """SIGTERM and wait: the clean stop systemd does."""
        return self._signal(signal.SIGTERM, timeout)

    def wait_log(self, text: str, timeout: float = 15) -> None:
        """Wait until the agent's log contains `text` (a child's log file offers no event to await)."""
        deadline = time.monotonic() + timeout
        while text not in self.log_text():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not logged within {timeout} s:\n{self.log_text()[-2000:]}")
            time.sleep(0.05)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _signal(self, sig: signal.Signals, timeout: float = 20) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def __enter__(self) -> AgentProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.kill()


@asynccontextmanager
async def running_agent(config: AgentConfig | Path) -> AsyncIterator[Agent]:
    """An agent on the test's own event loop, stopped cleanly (as by SIGTERM) on exit."""
    if isinstance(config, Path):
        config = load_config(config)
    agent = Agent(config)
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop), name="agent-under-test")
    ready = asyncio.create_task(agent.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED, timeout=20)
    if task.done():
        ready.cancel()
        task.result()  # raises the agent's start-up error
    try:
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


async def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02) -> None:
    """Wait for in-process state the agent exposes no event for (e.g. a counter); bounded by timeout.

    The one polling helper of the suite: `predicate` returns a truth value or an awaitable of one."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _truth(predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


async def _truth(value: Any) -> bool:
    return bool(await value) if inspect.isawaitable(value) else bool(value)
