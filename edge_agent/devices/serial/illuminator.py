"""Polls a Vivotek-style illuminator: one request per reading, replies matched by command."""

from __future__ import annotations

import asyncio
import time

from edge_agent.devices.serial import vivotek
from edge_agent.devices.serial.codec import Deframer, IlluminatorReply
from edge_agent.devices.serial.config import IlluminatorHealth
from edge_agent.devices.serial.port import SerialPort
from edge_agent.errors import DeviceTimeout
from edge_agent.readings import DeviceEvent, Fault, PollResult, Severity, Value

COMMANDS = (
    vivotek.TEMPERATURES,
    vivotek.SUPPLY_MV,
    *vivotek.LED_STRINGS,
    vivotek.AMBIENT,
    vivotek.BOOTS,
    vivotek.POWER_ON_H,
    vivotek.LED_ON_H,
    vivotek.ERRORS,
)
UNITS = {
    "led_temperature_c": "°C",
    "mcu_temperature_c": "°C",
    "supply_voltage_v": "V",
    "ambient_light_percent": "%",
    "power_on_h": "h",
    "led_on_h": "h",
} | {f"led_string_{n}_v": "V" for n in range(1, 5)}


def reply_values(reply: IlluminatorReply) -> dict[str, Value]:
    """Telemetry from one reply (pure)."""
    data, command = reply.data, reply.command
    if command == vivotek.TEMPERATURES:
        led, mcu = vivotek.temperatures(data)
        return {"led_temperature_c": led, "mcu_temperature_c": mcu}
    number = vivotek.unsigned(data)
    if command == vivotek.SUPPLY_MV:
        return {"supply_voltage_v": round(number / 1000, 3)}
    if command in vivotek.LED_STRINGS:
        return {f"led_string_{vivotek.LED_STRINGS.index(command) + 1}_v": round(number / 1000, 3)}
    names = {
        vivotek.AMBIENT: "ambient_light_percent",
        vivotek.BOOTS: "boot_count",
        vivotek.POWER_ON_H: "power_on_h",
        vivotek.LED_ON_H: "led_on_h",
        vivotek.ERRORS: "error_bits",
    }
    return {names[command]: number} if command in names else {}


def faults_of(values: dict[str, Value], health: IlluminatorHealth) -> list[Fault]:
    """Faults from error bits and limits (pure)."""
    faults = []
    bits = values.get("error_bits")
    if isinstance(bits, int):
        for bit, (code, bit_severity, message) in vivotek.ERROR_BITS.items():
            if bits >> bit & 1:
                faults.append(Fault(code, bit_severity, message))
    led = values.get("led_temperature_c")
    if isinstance(led, int | float) and led >= health.led_temperature_warning_c:
        severity: Severity = "critical" if led >= health.led_temperature_critical_c else "warning"
        faults.append(Fault("led_temperature_high", severity, f"LED at {led} °C"))
    supply = values.get("supply_voltage_v")
    if isinstance(supply, int | float) and not health.supply_min_v <= supply <= health.supply_max_v:
        faults.append(Fault("supply_voltage", "critical", f"supply at {supply} V"))
    return faults


class IlluminatorClient:
    def __init__(self, health: IlluminatorHealth) -> None:
        self.health = health
        self.deframer = Deframer(vivotek.decode)
        self.timeouts = 0
        self._boot_count: int | None = None

    async def poll(self, port: SerialPort) -> PollResult:
        values: dict[str, Value] = {}
        for command in COMMANDS:
            reply = await self._ask(port, command)
            if reply is None:
                if not values:  # the first request unanswered: the illuminator is not there
                    raise DeviceTimeout(f"illuminator {self.health.address}: no reply")
                continue
            values.update(reply_values(reply))
        values["timeouts_total"] = self.timeouts
        values["garbage_bytes_total"] = self.deframer.garbage_bytes
        return PollResult(
            values=values,
            units=UNITS,
            faults=faults_of(values, self.health),
            events=self._restart_events(values),
        )

    async def _ask(self, port: SerialPort, command: int) -> IlluminatorReply | None:
        await port.reset_input()
        self.deframer.reset()
        await port.write(vivotek.request(self.health.address, command))
        deadline = time.monotonic() + self.health.request_timeout_s
        while time.monotonic() < deadline:
            for frame in self.deframer.feed(await port.read()):
                if (
                    isinstance(frame, IlluminatorReply)
                    and frame.command == command
                    and frame.address == self.health.address
                ):
                    return frame
            await asyncio.sleep(0)
        self.timeouts += 1
        return None

    def _restart_events(self, values: dict[str, Value]) -> list[DeviceEvent]:
        boots = values.get("boot_count")
        if not isinstance(boots, int):
            return []
        previous, self._boot_count = self._boot_count, boots
        if previous is not None and boots > previous:
            return [DeviceEvent("illuminator_restarted", "warning", {"boot_count": boots}, "device")]
        return []
