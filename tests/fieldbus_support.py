"""Field-bus test helpers: a Modbus simulator on TCP or a pty pair with pollers on it, and a real
in-process Agent built from a config dict. Top-level in tests/ like camera_sim, because it imports
edge_agent (tests/support deliberately does not)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.agent import running_agent as start_agent
from support.agent import write_config
from support.ports import free_port

from edge_agent.devices.base import DeviceContext
from edge_agent.devices.modbus.config import ModbusConfig
from edge_agent.devices.modbus.poller import ModbusPoller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.runtime.agent import Agent
from edge_agent.simulators.modbus_server import ModbusSimulator, Scenario
from edge_agent.simulators.pty_link import PtyLink


@dataclass
class Bench:
    simulator: ModbusSimulator
    transport: dict[str, Any]
    context: DeviceContext

    def config(self, device: dict[str, Any]) -> ModbusConfig:
        return ModbusConfig.model_validate({"transport": self.transport, **device})


@asynccontextmanager
async def modbus_bench(
    scenario: Scenario, kind: str, workdir: Path, *, parity: str = "N"
) -> AsyncIterator[Bench]:
    """A running simulator and the transport settings that reach it (RTU: 8N1 or 8O1 on a pty)."""
    simulator = ModbusSimulator(scenario)
    context = DeviceContext(workdir, SharedResources())
    if kind == "tcp":
        port = free_port()
        await simulator.start_tcp("127.0.0.1", port)
        try:
            yield Bench(simulator, {"kind": "tcp", "host": "127.0.0.1", "port": port}, context)
        finally:
            await simulator.stop()
        return
    with PtyLink(workdir / "rs485") as link:
        await simulator.start_rtu(str(link.simulator_end), baudrate=9600, parity=parity)
        try:
            transport = {"kind": "rtu", "port": str(link.agent_end), "baudrate": 9600, "parity": parity}
            yield Bench(simulator, transport, context)
        finally:
            await simulator.stop()


@asynccontextmanager
async def opened(bench: Bench, devices: list[dict[str, Any]]) -> AsyncIterator[dict[str, ModbusPoller]]:
    pollers = {d["device_id"]: ModbusPoller(bench.config(d), bench.context) for d in devices}
    for poller in pollers.values():
        await poller.open()
    try:
        yield pollers
    finally:
        for poller in pollers.values():
            await poller.close()


@asynccontextmanager
async def running_agent(
    tmp_path: Path, broker_port: int, devices: list[dict[str, Any]], cabinet_id: str = "cab1"
) -> AsyncIterator[Agent]:
    """A real Agent (outbox, MQTT link, device loops) on `devices`, stopped cleanly at the end."""
    path = write_config(
        tmp_path, port=broker_port, devices=devices, cabinet_id=cabinet_id, logging={"level": "WARNING"}
    )
    async with start_agent(path) as agent:
        yield agent
