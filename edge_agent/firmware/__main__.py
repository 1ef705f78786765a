"""One phase of a camera firmware upgrade by the hook contract (firmware_hooks/README.md):
`python -m edge_agent.firmware pre|apply|post|rollback`, environment in, JSON Lines out, exit code.

The agent runs the same phases in-process (edge_agent/firmware/upgrade.py); this entry point is
for the hooks in firmware_hooks/camera/onvif/ (a person on site, another tool). The camera's
address and credentials come from the agent's configuration (`EDGE_AGENT_CONFIG`, secrets from
`CREDENTIALS_DIRECTORY`), never from the environment.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from edge_agent.errors import UsageError
from edge_agent.firmware.result import EXIT_USAGE, PhaseResult

PHASES = ("pre", "apply", "post", "rollback")


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name) or default
    if value is None:
        raise UsageError(f"{name} is not set")
    return value


def _flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if not value else value.lower() in ("1", "true", "yes")


def _number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise UsageError(f"{name} must be a number") from None


def _print(record: dict[str, Any]) -> None:
    print(json.dumps(record, default=str), flush=True)


async def _progress(message: str, facts: dict[str, Any]) -> None:
    _print({"type": "progress", "message": message, **facts})


async def run_phase(phase: str) -> PhaseResult:
    from edge_agent.config import load_config
    from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
    from edge_agent.errors import ConfigError
    from edge_agent.firmware.camera import CameraFirmware, Observed, Request

    device_id = _env("EDGE_CAMERA_DEVICE_ID")
    try:
        config = load_config(_env("EDGE_AGENT_CONFIG"))
    except ConfigError as exc:
        raise UsageError(f"configuration refused: {exc}"[:300]) from exc
    device = next((d for d in config.devices if d.device_id == device_id), None)
    if not isinstance(device, OnvifCameraConfig):
        raise UsageError(f"no onvif_camera {device_id!r} in {_env('EDGE_AGENT_CONFIG')}")
    request = Request(
        Path(_env("EDGE_FIRMWARE_IMAGE")),
        _env("EDGE_FIRMWARE_SHA256").lower(),
        _env("EDGE_FIRMWARE_EXPECTED_VERSION"),
        _number("EDGE_FIRMWARE_TIMEOUT_S", 600),
    )
    camera = CameraFirmware(device, _progress)
    try:
        if phase == "pre":
            observed = Observed(
                os.environ.get("EDGE_CAMERA_HEALTH") or None,
                _flag("EDGE_CAMERA_RECORDING"),
                _flag("EDGE_CABINET_MAINS_PRESENT"),
                config.firmware.busy_now(config.health.tz),
            )
            return await camera.pre(request, observed)
        if phase == "apply":
            return await camera.apply(request)
        if phase == "post":
            return await camera.post(request, _flag("EDGE_CAMERA_RECORDING"))
        return await camera.rollback(os.environ.get("EDGE_CAMERA_MANUFACTURER"))
    finally:
        await camera.close()


def main(argv: list[str]) -> int:
    phase = argv[0] if argv else ""
    result = PhaseResult(f"camera/{phase or '?'}")
    try:
        if phase not in PHASES:
            raise UsageError(f"usage: python -m edge_agent.firmware {'|'.join(PHASES)}")
        _env("EDGE_HOOK_TARGET", "camera")
        result = asyncio.run(run_phase(phase))
    except UsageError as exc:
        result.fault = {"code": "hook_usage", "severity": "warning", "message": str(exc)}
        _print(result.record())
        return EXIT_USAGE
    _print(result.record())
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
