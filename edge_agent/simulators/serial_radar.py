"""A streaming speed radar on a pty: idle frames, vehicles, boot signatures, silence, garbage.

    python -m edge_agent.simulators.serial_radar --link /tmp/ea-radar --scenario FILE

The agent opens the --link path (created with socat; the simulator takes `<link>.sim`). Scenario:

    protocol: csr            # csr | csr_direction | csr_ascii | stalker | ascii_line
    frame_interval_s: 0.1    # one frame (idle or vehicle) this often; 0 = send only vehicles
    vehicle_every_s: 2.0
    speeds_kmh: [57, 63, 88] # cycled
    boot_on_start: true      # send FE FD FD FE first, as after power-up
    steps:
      - {at_s: 5, action: boot}                    # a restart
      - {at_s: 6, action: silent}                  # output stops (self-test failure)
      - {at_s: 9, action: resume}
      - {at_s: 10, action: garbage, count: 40}     # line noise
      - {at_s: 11, action: speed, speed_kmh: 400}  # a reading outside the physical range
"""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.devices.serial import ascii_line, csr, stalker
from edge_agent.simulators.pty_io import PtyEnd, run_pty_simulator
from edge_agent.simulators.scenario import run_steps

Protocol = Literal["csr", "csr_direction", "csr_ascii", "stalker", "ascii_line"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RadarStep(_Model):
    at_s: float = Field(ge=0)
    action: Literal["boot", "silent", "resume", "garbage", "speed"]
    count: int = Field(32, ge=1, le=65536)
    speed_kmh: int = 0


class RadarScenario(_Model):
    protocol: Protocol = "csr"
    frame_interval_s: float = Field(0.1, ge=0)
    vehicle_every_s: float = Field(2.0, gt=0)
    speeds_kmh: list[int] = Field(default_factory=lambda: [57, 63, 88])
    boot_on_start: bool = True
    steps: list[RadarStep] = Field(default_factory=list)


def speed_frame(protocol: Protocol, speed_kmh: int) -> bytes:
    """One reading in the radar's format (0 = no target)."""
    if protocol == "csr":
        return csr.encode_byte(speed_kmh)
    if protocol == "csr_direction":
        return csr.encode_direction(speed_kmh)
    if protocol == "csr_ascii":
        return csr.encode_ascii(speed_kmh)
    if protocol == "stalker":
        return stalker.encode(speed_kmh)
    return ascii_line.encode(speed_kmh)


class RadarSimulator:
    def __init__(self, scenario: RadarScenario, end: PtyEnd) -> None:
        self.scenario = scenario
        self.end = end
        self.silent = False
        self.frames_sent = 0
        self._speeds = itertools.cycle(scenario.speeds_kmh or [60])

    def boot(self) -> None:
        self.end.write(csr.BOOT)

    def send_speed(self, speed_kmh: int) -> None:
        if not self.silent:
            self.end.write(speed_frame(self.scenario.protocol, speed_kmh))
            self.frames_sent += 1

    def apply(self, step: RadarStep) -> None:
        if step.action == "boot":
            self.boot()
        elif step.action == "silent":
            self.silent = True
        elif step.action == "resume":
            self.silent = False
        elif step.action == "garbage":
            self.end.write(bytes(random.randrange(256) for _ in range(step.count)))
        else:
            self.send_speed(step.speed_kmh)

    async def run(self) -> None:
        """Stream until cancelled, applying the scenario's steps alongside."""
        if self.scenario.boot_on_start:
            self.boot()
        steps = asyncio.get_running_loop().create_task(run_steps(self.scenario.steps, self.apply))
        try:
            await self._stream()
        finally:
            steps.cancel()

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        interval = self.scenario.frame_interval_s or self.scenario.vehicle_every_s
        next_vehicle = loop.time() + self.scenario.vehicle_every_s
        while True:
            await asyncio.sleep(interval)
            if loop.time() >= next_vehicle:
                next_vehicle += self.scenario.vehicle_every_s
                self.send_speed(next(self._speeds))
            elif self.scenario.frame_interval_s:
                self.send_speed(0)


def main() -> None:
    run_pty_simulator(
        __doc__ or "", RadarScenario, RadarSimulator, lambda s: f"radar simulator ({s.protocol})"
    )


if __name__ == "__main__":
    main()
