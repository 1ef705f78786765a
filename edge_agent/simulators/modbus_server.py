"""A Modbus TCP / RTU server that serves shipped profiles with scripted values and faults.

    python -m edge_agent.simulators.modbus_server --scenario FILE --port 5020
    python -m edge_agent.simulators.modbus_server --scenario FILE --link /tmp/ea-rs485  # RTU, pty pair

Scenario file (YAML):

    devices:
      - {unit_id: 1, profile: eastron_sdm630, values: {voltage_l1_v: 230.1}, noise: {voltage_l1_v: 0.5}}
    steps:
      - {at_s: 10, unit_id: 1, set: {voltage_l1_v: 0}}     # mains loss
      - {at_s: 20, unit_id: 1, fault: silent}    # silent | exception | garbage | crc | short | none
      - {at_s: 30, unit_id: 1, stuck: true}                 # noise stops: a frozen sensor

Values not given are 0 (false). Faults: `silent` drops replies, `exception` answers with exception
code 4, `garbage` replaces the reply with random bytes, `crc` breaks its checksum, `short` drops
the last register of a register reply (a wrong-length reply with a valid frame).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from pymodbus.simulator.simutils import SimUtils

from edge_agent.devices.modbus.codec import encode
from edge_agent.devices.modbus.profile import BIT_FUNCTIONS, Profile, load_profile
from edge_agent.readings import Value
from edge_agent.simulators.scenario import load_scenario, run_steps, until_stopped

FaultName = Literal["none", "silent", "exception", "garbage", "crc", "short"]
_TABLES = ("coil", "discrete_input", "holding", "input")
_TABLE_OF_FC = {1: "coil", 5: "coil", 15: "coil", 2: "discrete_input", 3: "holding", 6: "holding"}
_TABLE_OF_FC |= {16: "holding", 4: "input"}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeviceSpec(_Model):
    unit_id: int = Field(ge=1, le=247)
    profile: str
    values: dict[str, Value] = Field(default_factory=dict)
    noise: dict[str, float] = Field(default_factory=dict, description="Uniform +- amplitude per read.")
    fault: FaultName = "none"


class Step(_Model):
    at_s: float = Field(ge=0)
    unit_id: int
    set: dict[str, Value] = Field(default_factory=dict)
    fault: FaultName | None = None
    stuck: bool | None = None


class Scenario(_Model):
    devices: list[DeviceSpec] = Field(min_length=1)
    steps: list[Step] = Field(default_factory=list)


@dataclass
class SimulatedDevice:
    """One slave: its profile, current values and fault."""

    unit_id: int
    profile: Profile
    values: dict[str, Value]
    noise: dict[str, float] = field(default_factory=dict)
    fault: FaultName = "none"
    stuck: bool = False
    reads: int = 0

    def table_size(self, table: str) -> int:
        ends = [v.address + v.width for v in self.profile.values if v.function == table]
        size = max(ends, default=1)
        return (size + 15) // 16 * 16 if table in BIT_FUNCTIONS else size

    def image(self, table: str) -> list[int]:
        """The table's current words (bits packed 16 per word for coils / discrete inputs)."""
        size = self.table_size(table)
        if table in BIT_FUNCTIONS:
            bits = [False] * size
            for v in (v for v in self.profile.values if v.function == table):
                bits[v.address] = bool(self.values.get(v.name, False))
            return SimUtils.bitsToRegisters(bits)
        words = [0] * size
        for v in (v for v in self.profile.values if v.function == table):
            encoded = [int(w) for w in encode(v, self._current(v.name))]
            if v.type == "bool":  # flags may share a register, one bit each
                words[v.address] |= encoded[0]
            else:
                words[v.address : v.address + v.width] = encoded
        return words

    def _current(self, name: str) -> Value:
        value = self.values.get(name, 0)
        amplitude = self.noise.get(name, 0.0)
        if amplitude and not self.stuck and isinstance(value, int | float) and not isinstance(value, bool):
            return value + random.uniform(-amplitude, amplitude)
        return value

    def sim_device(self) -> SimDevice:
        blocks = []
        for table in _TABLES:
            size = self.table_size(table)
            if table in BIT_FUNCTIONS:
                blocks.append([SimData(0, values=[False] * size, datatype=DataType.BITS)])
            else:
                blocks.append([SimData(0, values=[0] * size, datatype=DataType.REGISTERS)])
        return SimDevice(self.unit_id, simdata=tuple(blocks), action=self._action)  # type: ignore[arg-type]  # pymodbus' SimDevice stubs want a list

    async def _action(
        self, function_code: int, start: int, address: int, count: int, registers: list[int], values: Any
    ) -> ExcCodes | None:
        self.reads += 1
        if self.fault == "exception":
            return ExcCodes.DEVICE_FAILURE
        table = _TABLE_OF_FC.get(function_code)
        if table is not None and values is None:
            image = self.image(table)
            registers[: len(image)] = image
        return None


class ModbusSimulator:
    """The simulated bus: devices by unit id, and the faults applied to their replies on the wire."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.devices = {
            spec.unit_id: SimulatedDevice(
                spec.unit_id, load_profile(spec.profile), dict(spec.values), dict(spec.noise), spec.fault
            )
            for spec in scenario.devices
        }
        self.requests = 0
        self._rtu = False
        self._server: ModbusTcpServer | ModbusSerialServer | None = None

    def set_values(self, unit_id: int, values: dict[str, Value]) -> None:
        self.devices[unit_id].values.update(values)

    def set_fault(self, unit_id: int, fault: FaultName) -> None:
        self.devices[unit_id].fault = fault

    def apply(self, step: Step) -> None:
        device = self.devices[step.unit_id]
        device.values.update(step.set)
        if step.fault is not None:
            device.fault = step.fault
        if step.stuck is not None:
            device.stuck = step.stuck

    def _trace(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self.requests += 1
            return data
        if not data:
            return data
        unit = data[0] if self._rtu else (data[6] if len(data) > 6 else 0)
        device = self.devices.get(unit)
        if device is None or device.fault in ("none", "exception"):
            return data
        return _damage(data, device.fault, rtu=self._rtu)

    async def start_tcp(self, host: str, port: int) -> None:
        self._server = ModbusTcpServer(self._sim_devices(), address=(host, port), trace_packet=self._trace)
        await self._server.serve_forever(background=True)

    async def start_rtu(self, port: str, *, baudrate: int = 9600, parity: str = "N") -> None:
        self._rtu = True
        self._server = ModbusSerialServer(
            self._sim_devices(),
            framer=FramerType.RTU,
            port=port,
            baudrate=baudrate,
            parity=parity,
            ignore_missing_devices=True,  # an absent slave on RS-485 is silence, not an exception
            trace_packet=self._trace,
        )
        await self._server.serve_forever(background=True)

    async def run_scenario(self) -> None:
        await run_steps(self.scenario.steps, self.apply)

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.shutdown()  # type: ignore[no-untyped-call]  # pymodbus server is untyped
            self._server = None

    def _sim_devices(self) -> list[SimDevice]:
        return [device.sim_device() for device in self.devices.values()]


def _damage(frame: bytes, fault: str, *, rtu: bool) -> bytes:
    if fault == "silent":
        return b""
    header = 0 if rtu else 7  # the MBAP header stays intact on TCP so the stream keeps its framing
    if fault == "garbage":
        return frame[:header] + bytes(random.randrange(256) for _ in range(len(frame) - header))
    if fault == "crc":
        return (
            frame[:-1] + bytes([frame[-1] ^ 0xFF])
            if rtu
            else frame[:header] + b"\xff" * (len(frame) - header)
        )
    return _shorten(frame, rtu=rtu)


def _shorten(frame: bytes, *, rtu: bool) -> bytes:
    """A register reply one register short, with a consistent byte count (and CRC / MBAP length)."""
    header = 1 if rtu else 7
    body = frame[header:-2] if rtu else frame[header:]
    if len(body) < 4 or body[0] not in (3, 4):
        return frame
    pdu = bytes([body[0], body[1] - 2]) + body[2:-2]
    if rtu:
        packet = frame[:1] + pdu
        return packet + crc16(packet).to_bytes(2, "little")
    length = (len(pdu) + 1).to_bytes(2, "big")
    return frame[:4] + length + frame[6:7] + pdu


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (poly 0xA001, init 0xFFFF)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


async def _main(args: argparse.Namespace) -> None:
    from edge_agent.simulators.pty_link import PtyLink

    simulator = ModbusSimulator(load_scenario(args.scenario, Scenario))
    link = None
    if args.link:
        link = PtyLink(Path(args.link)).start()
        await simulator.start_rtu(str(link.simulator_end), baudrate=args.baudrate, parity=args.parity)
        print(f"modbus RTU simulator: agent port {link.agent_end}", flush=True)
    else:
        await simulator.start_tcp(args.host, args.port)
        print(f"modbus TCP simulator on {args.host}:{args.port}", flush=True)
    try:
        script = asyncio.get_running_loop().create_task(simulator.run_scenario())
        await until_stopped()
        script.cancel()
    finally:
        await simulator.stop()
        if link is not None:
            link.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", required=True, type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5020)
    parser.add_argument("--link", help="serve RTU on a new pty pair; the agent opens this path")
    parser.add_argument("--baudrate", type=int, default=9600)
    parser.add_argument(
        "--parity", default="N", choices=["N", "E", "O"], help="ptys may refuse E and O: use N"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
