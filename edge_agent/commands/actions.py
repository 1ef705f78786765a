"""Hardware actions: `power_cycle` a device through its relay."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from edge_agent.commands import command
from edge_agent.commands.context import CommandContext
from edge_agent.config_base import Identifier
from edge_agent.errors import CommandError


class PowerCycleArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    device_id: Identifier
    reason: str = ""


@command("power_cycle", PowerCycleArgs, acts_on_hardware=True)
async def power_cycle(args: PowerCycleArgs, context: CommandContext) -> dict[str, Any]:
    """Switch the device's relay off for its `off_time_s`, then on; replies when power is back."""
    if args.device_id not in context.live.devices:
        raise CommandError("unknown_device", f"no device {args.device_id!r}")
    cycler = context.services.power
    if cycler is None:
        raise CommandError("relay_not_configured", "no relays configured on this cabinet")
    return await cycler.cycle(
        args.device_id, operator=context.operator, source=context.source, reason=args.reason[:200]
    )


class DeviceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    device_id: Identifier


@command("device_soft_reset", DeviceArgs, acts_on_hardware=True)
async def device_soft_reset(args: DeviceArgs, context: CommandContext) -> dict[str, Any]:
    """Ask a device for its own soft reset (e.g. a speed radar's reset frame): the kind's
    `run_action("soft_reset")`; kinds without one answer `unsupported_action`."""
    poller = context.pollers.get(args.device_id)
    if poller is None:
        raise CommandError("unknown_device", f"no device {args.device_id!r}")
    return await poller.run_action("soft_reset", {})
