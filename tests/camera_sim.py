"""Helpers for camera tests: simulated cameras on 127.0.0.1 and pollers / agent configs for them."""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from edge_agent.devices import KINDS
from edge_agent.devices.base import DeviceContext
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.devices.onvif_camera.poller import OnvifCameraPoller
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.simulators.onvif_camera.server import CameraSimulator
from edge_agent.simulators.onvif_camera.states import state_named

USER = "admin"
PASSWORD = "Cam-s3cret-7731"  # distinctive, so a grep for it cannot hit anything by chance


async def start_camera(stack: AsyncExitStack, state: str = "healthy", **overrides: Any) -> CameraSimulator:
    vendor = overrides.pop("vendor", None)
    simulator = CameraSimulator(user=USER, password=PASSWORD, state=state_named(state, **overrides))
    if vendor:
        simulator.with_vendor(vendor)
    return await stack.enter_async_context(simulator)


def camera_fields(simulator: CameraSimulator, device_id: str, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "type": "onvif_camera",
        "device_id": device_id,
        "host": simulator.host,
        "port": simulator.port,
        "username": USER,
        "timeout_s": 6,
        "request_timeout_s": 2,
        "offline_after_failures": 1,
    }
    fields.update(overrides)
    return fields


async def open_poller(
    stack: AsyncExitStack,
    simulator: CameraSimulator,
    data_dir: Path,
    password: str = PASSWORD,
    **overrides: Any,
) -> OnvifCameraPoller:
    fields = camera_fields(simulator, "cam1", password=SecretStr(password), **overrides)
    config = OnvifCameraConfig.model_validate(fields)
    poller = KINDS["onvif_camera"].create_poller(config, DeviceContext(data_dir, SharedResources()))
    assert isinstance(poller, OnvifCameraPoller)
    await poller.open()
    stack.push_async_callback(poller.close)
    return poller
