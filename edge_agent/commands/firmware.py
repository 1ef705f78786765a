"""Camera firmware: `camera_firmware_upgrade` (one camera) and `camera_firmware_batch` (several,
in batches). Both act on hardware (an operator is required) and are audited by the dispatcher;
each camera's own result is audited too (`firmware/camera_upgrade`).

The image is a file name in the agent's firmware folder (`<data_dir>/firmware/`, where
`deploy/ansible/camera-firmware.yml` copies it): a command cannot name any other file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge_agent.commands import command
from edge_agent.commands.context import CommandContext
from edge_agent.config_base import Identifier
from edge_agent.errors import CommandError

if TYPE_CHECKING:  # the upgrade code imports the ONVIF library: loaded on first use only
    from edge_agent.firmware.camera import Request
    from edge_agent.firmware.upgrade import Upgrader

ImageName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$", description="File name.")]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$", description="SHA-256 of the image, hex.")]


class FirmwareArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)
    image: ImageName
    sha256: Sha256
    expected_version: str = Field(min_length=1, max_length=64)
    timeout_s: float = Field(600, ge=1, le=3600, description="Limit for a camera to come back upgraded.")


class UpgradeArgs(FirmwareArgs):
    device_id: Identifier


class BatchArgs(FirmwareArgs):
    device_ids: list[Identifier] = Field(min_length=1, max_length=256)
    batch_size: int = Field(1, ge=1, le=32)

    @model_validator(mode="after")
    def _distinct(self) -> BatchArgs:
        if len(set(self.device_ids)) != len(self.device_ids):
            raise ValueError("device_ids lists a camera twice")
        return self


def _setup(args: FirmwareArgs, device_ids: list[str], context: CommandContext) -> tuple[Upgrader, Request]:
    from edge_agent.devices.onvif_camera.poller import OnvifCameraPoller
    from edge_agent.firmware.camera import Request
    from edge_agent.firmware.polled import Camera, PolledCamera
    from edge_agent.firmware.upgrade import Services, Upgrader

    cameras: dict[str, Camera] = {}
    for device_id in device_ids:
        poller = context.pollers.get(device_id)
        runner = context.services.runners.get(device_id)
        if not isinstance(poller, OnvifCameraPoller) or runner is None:
            raise CommandError("unknown_device", f"no camera with device_id {device_id!r}")
        cameras[device_id] = PolledCamera(poller, runner)
    folder = context.services.firmware_dir
    image = folder / args.image if folder is not None else None
    if image is None or not image.is_file():
        raise CommandError("image_missing", f"no image {args.image!r} in the firmware folder")
    services = Services(
        emitter=context.emitter,
        live=context.live,
        cameras=cameras,
        audit=context.services.audit,
        operator=context.operator,
        upgrading=context.services.firmware_upgrading,
        busy=context.services.firmware_busy,
    )
    return Upgrader(services), Request(image, args.sha256.lower(), args.expected_version, args.timeout_s)


@command("camera_firmware_upgrade", UpgradeArgs, acts_on_hardware=True)
async def camera_firmware_upgrade(args: UpgradeArgs, context: CommandContext) -> dict[str, Any]:
    """Upgrade one camera: pre (image digest, health, mains), apply, post (version, streams)."""
    upgrader, request = _setup(args, [args.device_id], context)
    outcome = await upgrader.upgrade(args.device_id, request)
    if not outcome.ok:
        raise CommandError(f"firmware_{outcome.status}", f"{args.device_id}: {outcome.reason}"[:500])
    return {"device_id": args.device_id, **outcome.brief()}


@command("camera_firmware_batch", BatchArgs, acts_on_hardware=True)
async def camera_firmware_batch(args: BatchArgs, context: CommandContext) -> dict[str, Any]:
    """Upgrade cameras in batches of `batch_size`; the first failed batch stops the rest."""
    upgrader, request = _setup(args, args.device_ids, context)
    report = await upgrader.batch(args.device_ids, args.batch_size, request)
    if report["stopped_at_batch"] is not None:
        failed = [f"{d}: {r['status']}" for d, r in report["results"].items() if r["status"] not in _OK]
        untouched = ", ".join(report["untouched"]) or "none"
        message = (
            f"stopped at batch {report['stopped_at_batch']}: {'; '.join(failed)}; untouched: {untouched}"
        )
        raise CommandError("firmware_batch_stopped", message[:500])
    return report


_OK = ("succeeded", "already_current")
