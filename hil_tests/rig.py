"""The simulated cabinet's hardware in one process, run by the bench inside the cabinet namespace.

    python hil_tests/rig.py SPEC.json

What a real bench has as boxes on a DIN rail: the RS-485 bus (meter, sensors, UPS, strobe branch
monitor) on a pty pair, the speed radar on another, the cameras on the cabinet LAN, and a Modbus
TCP relay board whose coils switch the cameras' supply (a coil write powers the camera off or on,
exactly when the agent writes it) and whose discrete input reads the door contact. A control API
on a Unix socket lets the suite inject what cannot be done from outside the hardware: a meter
reading, a camera state, a radar falling silent, the door opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from aiohttp import web
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from edge_agent.simulators.modbus_server import ModbusSimulator, Scenario
from edge_agent.simulators.onvif_camera.server import CameraSimulator
from edge_agent.simulators.onvif_camera.states import state_named
from edge_agent.simulators.pty_io import PtyEnd
from edge_agent.simulators.pty_link import PtyLink
from edge_agent.simulators.scenario import until_stopped
from edge_agent.simulators.serial_radar import RadarScenario, RadarSimulator, RadarStep

WRITE_COILS = (5, 15)
READ_DISCRETE_INPUTS = 2


class Rig:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.bus = ModbusSimulator(Scenario.model_validate({"devices": spec["modbus"]}))
        password = Path(spec["password_file"]).read_text(encoding="utf-8").strip()
        self.cameras = {
            c["device_id"]: CameraSimulator(
                user=spec["user"],
                password=password,
                host=c["host"],
                port=c["port"],
                rtsp_port=c["rtsp_port"],
                state=state_named(c.get("state", "healthy")),
            )
            for c in spec["cameras"]
        }
        self.coils: dict[int, str] = {int(k): v for k, v in spec["relay_board"]["coils"].items()}
        self.radar: RadarSimulator | None = None
        self.door_input: int | None = spec["relay_board"].get("door_input")
        self.door_open = False

    async def run(self, stack: contextlib.AsyncExitStack) -> None:
        bus_link = stack.enter_context(PtyLink(Path(self.spec["rs485"])))
        await self.bus.start_rtu(str(bus_link.simulator_end))
        stack.push_async_callback(self.bus.stop)
        for camera in self.cameras.values():
            await camera.start()
            stack.push_async_callback(camera.stop)
        await self._relay_board(stack)
        radar_link = stack.enter_context(PtyLink(Path(self.spec["radar"])))
        end = PtyEnd(radar_link.simulator_end)
        end.open()
        stack.callback(end.close)
        self.radar = RadarSimulator(RadarScenario.model_validate(self.spec["radar_scenario"]), end)
        radar = asyncio.create_task(self.radar.run(), name="radar")
        stack.callback(radar.cancel)

    async def _relay_board(self, stack: contextlib.AsyncExitStack) -> None:
        board = self.spec["relay_board"]
        # Coils start energised: every supply on, as after the cabinet powers up.
        device = SimDevice(
            board["unit"],
            simdata=[SimData(0, count=4, values=0xFFFF, datatype=DataType.REGISTERS)],
            use_bit_addressing=True,
            action=self._coil_written,
        )
        server = ModbusTcpServer(device, address=(board["host"], board["port"]))
        await server.serve_forever(background=True)
        stack.push_async_callback(server.shutdown)

    async def _coil_written(
        self, function_code: int, start: int, address: int, count: int, registers: list[int], values: Any
    ) -> None:
        if function_code == READ_DISCRETE_INPUTS and self.door_input is not None:
            # The board's coils and inputs share one bit table: the door's bit is set on each read.
            word, bit = divmod(self.door_input - start * 16, 16)
            registers[word] = registers[word] & ~(1 << bit) | (self.door_open << bit)
        if function_code not in WRITE_COILS or values is None:
            return
        bits = values if isinstance(values, list) else [values]
        for offset, bit in enumerate(bits):
            device_id = self.coils.get(address + offset)
            if device_id is not None:
                await self.cameras[device_id].set_power(bool(bit))

    # --- the control API ------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_put("/modbus/{unit}", self._set_modbus)
        app.router.add_put("/camera/{device_id}/state/{name}", self._set_camera_state)
        app.router.add_put("/camera/{device_id}/power/{on}", self._set_camera_power)
        app.router.add_get("/camera/{device_id}", self._camera)
        app.router.add_put("/radar/{action}", self._radar)
        app.router.add_put("/door/{state}", self._door)
        return app

    async def _set_modbus(self, request: web.Request) -> web.Response:
        self.bus.set_values(int(request.match_info["unit"]), await request.json())
        return web.json_response({"ok": True})

    async def _set_camera_state(self, request: web.Request) -> web.Response:
        camera = self.cameras[request.match_info["device_id"]]
        camera.state = state_named(
            request.match_info["name"], vendor=camera.state.vendor, model=camera.state.model
        )
        return web.json_response({"ok": True})

    async def _set_camera_power(self, request: web.Request) -> web.Response:
        await self.cameras[request.match_info["device_id"]].set_power(request.match_info["on"] == "on")
        return web.json_response({"ok": True})

    async def _camera(self, request: web.Request) -> web.Response:
        camera = self.cameras[request.match_info["device_id"]]
        return web.json_response(
            {
                "powered": camera.powered,
                "power_cycles": camera.power_cycles,
                "wire": camera.state.wire,
                "clock_skew_s": camera.state.clock_skew_s,
            }
        )

    async def _radar(self, request: web.Request) -> web.Response:
        assert self.radar is not None
        self.radar.apply(RadarStep(at_s=0, action=request.match_info["action"]))  # type: ignore[arg-type]  # a test double or a deliberately wrong value
        return web.json_response({"ok": True})

    async def _door(self, request: web.Request) -> web.Response:
        self.door_open = request.match_info["state"] == "open"
        return web.json_response({"ok": True, "open": self.door_open})


async def main(spec: dict[str, Any]) -> None:
    rig = Rig(spec)
    async with contextlib.AsyncExitStack() as stack:
        await rig.run(stack)
        runner = web.AppRunner(rig.app(), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.UnixSite(runner, spec["control"]).start()
        print("rig ready", flush=True)
        await until_stopped()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
