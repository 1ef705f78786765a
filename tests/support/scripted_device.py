"""A test-only device kind whose faults and readings the test scripts, and a test `power_cycle`.

Registered for a test run with `registered()`; never part of the agent. The real power-cycle
command (relays) and real device kinds arrive with their own features.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from edge_agent.commands import COMMANDS, command, find_command
from edge_agent.commands.context import CommandContext
from edge_agent.devices import KINDS
from edge_agent.devices.base import DeviceConfig, DeviceKind, Poller
from edge_agent.errors import CommandError, DeviceUnreachable
from edge_agent.readings import Fault, PollResult, Value


class ScriptedConfig(DeviceConfig):
    type: Literal["scripted"] = "scripted"


@dataclass
class Script:
    values: dict[str, Value] = field(default_factory=lambda: {"voltage_v": 230.0, "temperature_c": 31.5})
    units: dict[str, str] = field(default_factory=lambda: {"voltage_v": "V", "temperature_c": "°C"})
    faults: list[Fault] = field(default_factory=list)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    unreachable: bool = False
    actions: list[str] = field(default_factory=list)


SCRIPTS: dict[str, Script] = {}


class ScriptedPoller(Poller[ScriptedConfig]):
    async def poll(self) -> PollResult:
        script = SCRIPTS.setdefault(self.config.device_id, Script())
        if script.unreachable:
            raise DeviceUnreachable("scripted: no answer")
        return PollResult(
            values=dict(script.values),
            units=dict(script.units),
            faults=list(script.faults),
            diagnostics=dict(script.diagnostics),
        )

    async def run_action(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        script = SCRIPTS.setdefault(self.config.device_id, Script())
        script.actions.append(action)
        if action == "power_cycle":
            script.faults.clear()  # the scripted device "recovers" after its power cycle
            return {"device_id": self.config.device_id, "off_s": 0}
        return await super().run_action(action, args)


KIND = DeviceKind(type="scripted", config_model=ScriptedConfig, poller_path=f"{__name__}:ScriptedPoller")


class PowerCycleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    device_id: str


async def _power_cycle(args: PowerCycleArgs, context: CommandContext) -> dict[str, Any]:
    poller = context.pollers.get(args.device_id)
    if poller is None:
        raise CommandError("unknown_device", f"no device {args.device_id!r}")
    return await poller.run_action("power_cycle", {})


@contextlib.contextmanager
def registered() -> Iterator[None]:
    """The scripted kind and a test `power_cycle` command, for the duration of a test."""
    # The real `power_cycle` (relays) is loaded first, so that a later first use of its module's
    # other command cannot replace the test one; it is put back afterwards.
    previous = find_command("power_cycle")
    KINDS["scripted"] = KIND
    command("power_cycle", PowerCycleArgs, acts_on_hardware=True)(_power_cycle)
    SCRIPTS.clear()
    try:
        yield
    finally:
        KINDS.pop("scripted", None)
        if previous is None:
            COMMANDS.pop("power_cycle", None)
        else:
            COMMANDS["power_cycle"] = previous
        SCRIPTS.clear()
