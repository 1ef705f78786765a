"""Timed steps shared by the simulators' scenario files."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import yaml
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class TimedStep(Protocol):
    at_s: float


S = TypeVar("S", bound=TimedStep)


def load_scenario(path: Path | str, model: type[M]) -> M:
    """Read a YAML scenario file into its model."""
    raw: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    return model.model_validate(raw)


async def run_steps(steps: Sequence[S], apply: Callable[[S], None]) -> None:
    """Apply each step at its `at_s` (seconds after this call), in time order."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for step in sorted(steps, key=lambda s: s.at_s):
        delay = start + step.at_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        apply(step)


async def until_stopped() -> None:
    """Return on SIGTERM or SIGINT, so a simulator's `finally` blocks run (and socat is stopped)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
