"""Idle and half-sent connections to the diagnostics page (issue 12, item 2) must not starve the
agent of file descriptors: devices keep their state, the agent keeps publishing, `/healthz` answers.

The agent runs as a child process under the default limit of 1,024 descriptors; the test raises
its own limit to hold 2,000 connections.
"""

from __future__ import annotations

import asyncio
import os
import resource
from pathlib import Path

import aiohttp
import pytest
from support.agent import AgentProcess, write_config
from support.ports import free_port
from support.subscriber import Subscriber

pytestmark = pytest.mark.integration

ROOT = "edge/v1/cab-test"
CONNECTIONS = 2000
AGENT_FD_LIMIT = 1024


async def _open_idle_connections(port: int, count: int) -> list[asyncio.StreamWriter]:
    """`count` connections that each send half a request and then nothing, as a slowloris does."""
    gate = asyncio.Semaphore(100)

    async def one() -> asyncio.StreamWriter | None:
        async with gate:
            try:
                async with asyncio.timeout(3):
                    _reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: cabinet\r\nX-Slow: ")
                    await writer.drain()
                    return writer
            except (OSError, TimeoutError):  # a full accept queue may time a connect out: keep going
                return None

    opened = await asyncio.gather(*(one() for _ in range(count)))
    return [writer for writer in opened if writer is not None]


def _pulse_numbers(central: Subscriber) -> list[int]:
    messages = central.messages(f"{ROOT}/event")
    return [m.json()["detail"]["n"] for m in messages if m.json()["type"] == "pulse"]


async def test_idle_page_connections_change_nothing(broker, subscriber_factory, tmp_path: Path) -> None:
    page_port = free_port()
    busy_machine = {"warning": 1000, "critical": 1000}  # CPU or disk of the test machine must not count
    limits = {"cpu_percent": busy_machine, "memory_percent": busy_machine, "disk_percent": busy_machine}
    devices = [
        {"type": "host", "device_id": "host", "poll_interval_s": 0.5, "limits": limits},
        {"type": "pulse", "device_id": "pulse", "poll_interval_s": 0.2},
    ]
    config = write_config(
        tmp_path,
        port=broker.port,
        devices=devices,
        diagnostics={"enabled": True, "port": page_port, "users_file": "users.json"},
    )
    central = subscriber_factory(broker.host, broker.port, [f"{ROOT}/#"])
    central.wait_connected()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (AGENT_FD_LIMIT, hard))  # the agent inherits this
    try:
        with AgentProcess(config) as agent:
            agent.wait_log("diagnostics page on", timeout=30)
            for device_id in ("host", "pulse"):
                await central.until(
                    lambda m, d=device_id: m.topic == f"{ROOT}/device/{d}/state" and b'"ok"' in m.payload, 30
                )
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
            states_before = len(central.messages(f"{ROOT}/device/+/state"))
            held = await _open_idle_connections(page_port, CONNECTIONS)
            try:
                seen = max(_pulse_numbers(central))
                await central.until(
                    lambda m: m.topic == f"{ROOT}/event" and m.json()["detail"].get("n", 0) > seen + 10, 30
                )
                async with aiohttp.ClientSession() as client, asyncio.timeout(15):
                    response = await client.get(f"http://127.0.0.1:{page_port}/healthz")
                    assert response.status == 200
                assert agent.process is not None
                agent_fds = len(os.listdir(f"/proc/{agent.process.pid}/fd"))
            finally:
                for connection in held:
                    connection.close()
            changed = central.messages(f"{ROOT}/device/+/state")[states_before:]
            print(f"{len(held)} idle connections held; agent used {agent_fds} descriptors")
            assert not changed, [str(m) for m in changed]
            assert agent.terminate() == 0
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert "Too many open files" not in agent.log_text()
    assert len(agent.log_text().splitlines()) < 200
