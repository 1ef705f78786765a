"""Camera actions: `camera_reboot` and `camera_sync_time`, each for one `device_id`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from edge_agent.commands import command
from edge_agent.commands.context import CommandContext
from edge_agent.config_base import Identifier
from edge_agent.errors import CommandError


class CameraArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    device_id: Identifier


async def _camera_action(args: CameraArgs, context: CommandContext, action: str) -> dict[str, Any]:
    poller = context.pollers.get(args.device_id)
    if poller is None or poller.config.type != "onvif_camera":
        raise CommandError("unknown_device", f"no camera with device_id {args.device_id!r}")
    return await poller.run_action(action, {})


@command("camera_reboot", CameraArgs, acts_on_hardware=True)
async def camera_reboot(args: CameraArgs, context: CommandContext) -> dict[str, Any]:
    """ONVIF SystemReboot: the camera is unreachable for a minute or two afterwards."""
    return await _camera_action(args, context, "reboot")


@command("camera_sync_time", CameraArgs, acts_on_hardware=True)
async def camera_sync_time(args: CameraArgs, context: CommandContext) -> dict[str, Any]:
    """Point the camera at the configured NTP server, or set its clock to the agent's UTC time."""
    return await _camera_action(args, context, "sync_time")
