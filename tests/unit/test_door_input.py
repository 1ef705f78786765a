"""The door contact on a Modbus TCP discrete input: its config, the polled source, the tamper path."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from pydantic import ValidationError
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from support.ports import free_port

from edge_agent.actions.config import ActionsConfig, DoorConfig
from edge_agent.actions.door import DoorWatcher
from edge_agent.actions.door_modbus import ModbusDoorInput

MODBUS = {"host": "127.0.0.1", "port": 1502, "unit": 3, "address": 16}


def test_door_config_takes_a_pin_or_a_modbus_input() -> None:
    assert DoorConfig.model_validate({"pin": 27}).modbus is None  # the GPIO form is unchanged
    door = ActionsConfig.model_validate({"door": {"modbus": MODBUS}}).door
    assert door is not None and door.modbus is not None and door.pin is None
    assert (door.modbus.address, door.modbus.unit, door.poll_interval_s) == (16, 3, 0.5)
    wrongs = [{}, {"pin": 27, "modbus": MODBUS}, {"modbus": MODBUS, "pull_up": True},
              {"modbus": {**MODBUS, "address": -1}}, {"modbus": MODBUS, "poll_interval_s": 0}]  # fmt: skip
    for wrong in wrongs:
        with pytest.raises(ValidationError):
            DoorConfig.model_validate(wrong)


class FakeClient:
    """A connected client whose next reads are given bits or raised errors."""

    def __init__(self, replies: list[bool | Exception]) -> None:
        self.replies = replies
        self.connected = True

    async def read_discrete_inputs(self, address: int, *, count: int, device_id: int) -> Any:
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return type("Reply", (), {"bits": [reply] + [False] * 7, "isError": lambda self: False})()

    def close(self) -> None:
        self.connected = False


async def test_a_failing_input_is_logged_once_and_reports_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="edge_agent.actions.door_modbus")
    seen: list[bool] = []
    source = ModbusDoorInput(DoorConfig.model_validate({"modbus": MODBUS}), seen.append)
    source._client = FakeClient([True])
    await source.poll_once()
    for error in (OSError("reset"), TimeoutError(), OSError("no route")):
        source._client = FakeClient([error])  # a failed read drops the client; the next one connects afresh
        await source.poll_once()
    assert seen == [True]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot read" in warnings[0].getMessage()
    source._client = FakeClient([False])
    await source.poll_once()
    assert seen == [True, False]
    assert any("reads again" in r.getMessage() for r in caplog.records)


async def test_open_when_low_inverts_the_input() -> None:
    seen: list[bool] = []
    source = ModbusDoorInput(
        DoorConfig.model_validate({"modbus": MODBUS, "open_when_high": False}), seen.append
    )
    source._client = FakeClient([True, False])
    await source.poll_once()
    await source.poll_once()
    assert seen == [False, True]


class Recorder:
    """The emitter's `event`, recorded."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []
        self.arrived = asyncio.Event()

    async def event(self, type: str, *, severity: str = "info", detail: dict[str, Any] | None = None) -> None:
        self.events.append((type, severity, dict(detail or {})))
        self.arrived.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(30):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()


async def test_the_modbus_door_raises_the_same_tamper_alarm_as_the_gpio_one() -> None:
    door = {"open": False}

    async def inputs(
        fc: int, start: int, address: int, count: int, registers: list[int], values: Any
    ) -> None:
        if fc == 2:  # read discrete inputs: the door contact is bit 16
            registers[1] = int(door["open"])

    port = free_port()
    device = SimDevice(3, simdata=[SimData(0, count=4, values=0, datatype=DataType.REGISTERS)],
                       use_bit_addressing=True, action=inputs)  # fmt: skip
    server = ModbusTcpServer(device, address=("127.0.0.1", port))
    await server.serve_forever(background=True)
    config = DoorConfig.model_validate({"modbus": {**MODBUS, "port": port}, "poll_interval_s": 0.05})
    events = Recorder()
    watcher = DoorWatcher(config, events, lambda: False)  # type: ignore[arg-type]  # the emitter's event only
    try:
        watcher.open()
        task = asyncio.create_task(watcher.run())
        await events.until(1)
        door["open"] = True
        await events.until(3)
        door["open"] = False
        await events.until(4)
        task.cancel()
    finally:
        watcher.close()
        await server.shutdown()
    assert events.events == [
        ("door_closed", "info", {"maintenance": False}),
        ("door_opened", "info", {"maintenance": False}),
        ("tamper_alarm", "critical", {"door": "open"}),
        ("door_closed", "info", {"maintenance": False}),
    ]
