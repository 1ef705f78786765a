"""Run a real in-process Agent from a config dict, for integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import yaml

from edge_agent.app import Agent
from edge_agent.config import load_config


@asynccontextmanager
async def running_agent(
    tmp_path: Path, broker_port: int, devices: list[dict[str, Any]], cabinet_id: str = "cab1"
) -> AsyncIterator[Agent]:
    raw = {
        "cabinet": {"id": cabinet_id},
        "mqtt": {"host": "127.0.0.1", "port": broker_port},
        "storage": {"data_dir": str(tmp_path / "data")},
        "logging": {"level": "WARNING"},
        "devices": devices,
    }
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(raw))
    agent = Agent(load_config(path))
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(agent.run(stop))
    try:
        async with asyncio.timeout(10):
            await agent.ready.wait()
        yield agent
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await task
