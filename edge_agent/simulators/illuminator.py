"""A Vivotek-style illuminator on a pty: answers `FF addr cmd d1..d4 chk` requests.

    python -m edge_agent.simulators.illuminator --link /tmp/ea-light --scenario FILE

Scenario:

    address: 1
    values: {led_temperature_c: 41, mcu_temperature_c: 35, supply_voltage_v: 12.1,
             led_string_1_v: 9.6, ambient_light_percent: 12, boot_count: 3, error_bits: 0}
    steps:
      - {at_s: 5, set: {error_bits: 256}}    # LED driver 1 voltage out of range
      - {at_s: 8, silent: true}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from edge_agent.devices.serial import vivotek
from edge_agent.devices.serial.codec import Deframer, IlluminatorReply
from edge_agent.simulators.pty_io import PtyEnd, run_pty_simulator
from edge_agent.simulators.scenario import run_steps


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LightStep(_Model):
    at_s: float = Field(ge=0)
    set: dict[str, float] = Field(default_factory=dict)
    silent: bool | None = None
    garbage: bool | None = None


class LightScenario(_Model):
    address: int = 1
    values: dict[str, float] = Field(default_factory=dict)
    steps: list[LightStep] = Field(default_factory=list)


_DEFAULTS = {"led_temperature_c": 40, "mcu_temperature_c": 35, "supply_voltage_v": 12.0, "boot_count": 1}
_MILLI = {vivotek.SUPPLY_MV: "supply_voltage_v"} | {
    command: f"led_string_{n}_v" for n, command in enumerate(vivotek.LED_STRINGS, 1)
}
_PLAIN = {
    vivotek.AMBIENT: "ambient_light_percent",
    vivotek.BOOTS: "boot_count",
    vivotek.POWER_ON_H: "power_on_h",
    vivotek.LED_ON_H: "led_on_h",
    vivotek.ERRORS: "error_bits",
}


def reply_data(command: int, values: dict[str, float]) -> bytes:
    """The four data bytes answering `command` (inverse of the agent's reading)."""
    if command == vivotek.TEMPERATURES:
        led, mcu = (int(values.get(k, 0)) & 0xFF for k in ("led_temperature_c", "mcu_temperature_c"))
        return bytes([led, mcu, 0, 0])
    if command in _MILLI:
        return round(values.get(_MILLI[command], 0) * 1000).to_bytes(4, "big")
    return int(values.get(_PLAIN.get(command, ""), 0)).to_bytes(4, "big")


class IlluminatorSimulator:
    def __init__(self, scenario: LightScenario, end: PtyEnd) -> None:
        self.scenario = scenario
        self.values = {**_DEFAULTS, **scenario.values}
        self.end = end
        self.silent = False
        self.garbage = False
        self.requests = 0
        self._deframer = Deframer(vivotek.decode)

    def apply(self, step: LightStep) -> None:
        self.values.update(step.set)
        if step.silent is not None:
            self.silent = step.silent
        if step.garbage is not None:
            self.garbage = step.garbage

    def on_bytes(self, chunk: bytes) -> None:
        for frame in self._deframer.feed(chunk):
            if isinstance(frame, IlluminatorReply) and frame.address == self.scenario.address:
                self.requests += 1
                self._answer(frame.command)

    def _answer(self, command: int) -> None:
        if self.silent:
            return
        reply = vivotek.request(self.scenario.address, command, reply_data(command, self.values))
        if self.garbage:  # a broken checksum: the agent must skip it
            reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])
        self.end.write(reply)

    async def run(self) -> None:
        """Answer requests and play the scenario's steps; runs until cancelled."""
        self.end.on_readable(self.on_bytes)
        await run_steps(self.scenario.steps, self.apply)


def main() -> None:
    run_pty_simulator(__doc__ or "", LightScenario, IlluminatorSimulator, lambda _s: "illuminator simulator")


if __name__ == "__main__":
    main()
