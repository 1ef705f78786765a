"""The first commands: ping, get_status, resend_birth."""

from __future__ import annotations

from typing import Any

from edge_agent.commands import NoArgs, command
from edge_agent.commands.context import CommandContext
from edge_agent.readings import iso_ts, utc_now


@command("ping", NoArgs, read_only=True)
async def ping(_args: NoArgs, context: CommandContext) -> dict[str, Any]:
    return {"pong": True, "ts": iso_ts(utc_now()), "cabinet_id": context.cabinet_id}


@command("get_status", NoArgs, read_only=True)
async def get_status(_args: NoArgs, context: CommandContext) -> dict[str, Any]:
    devices = {
        device_id: {
            "kind": snapshot.kind,
            "state": snapshot.health.state,
            "since": iso_ts(snapshot.health.since),
            "cause": snapshot.health.cause,
            "reason": snapshot.health.reason,
            "faults": sorted(snapshot.health.faults),
        }
        for device_id, snapshot in context.live.devices.items()
    }
    return {"agent": context.agent_info(), "devices": devices}


@command("resend_birth", NoArgs)
async def resend_birth(_args: NoArgs, context: CommandContext) -> dict[str, Any]:
    """Re-assert the retained presence and every device state (e.g. after the broker lost its store)."""
    await context.resend_birth()
    for snapshot in context.live.devices.values():
        await context.emitter.device_state(snapshot)
    return {"devices": len(context.live.devices)}
