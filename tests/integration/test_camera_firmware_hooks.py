"""The camera firmware hooks by their contract (environment in, JSON Lines out, exit code), run as
processes against a simulated camera, exactly as a person on site or another tool would."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from camera_sim import PASSWORD, camera_fields, start_camera

from edge_agent.simulators.onvif_camera.firmware import make_image
from edge_agent.simulators.onvif_camera.server import CameraSimulator

pytestmark = pytest.mark.integration

HOOKS = Path(__file__).resolve().parents[2] / "firmware_hooks" / "camera" / "onvif"
OLD = "V5.7.3 build 220112"
NEW = "V5.8.0 build 241001"


@pytest.fixture
async def camera_env(tmp_path: Path) -> AsyncIterator[tuple[CameraSimulator, dict[str, str]]]:
    async with AsyncExitStack() as stack:
        camera = await start_camera(stack, "healthy", reboot_s=0.5)
        (tmp_path / "cam.pass").write_text(PASSWORD + "\n")
        device = camera_fields(camera, "cam-1", password={"file": "cam.pass"})
        document = {"cabinet": {"id": "cab-hooks"}, "mqtt": {"host": "127.0.0.1"}, "devices": [device]}
        (tmp_path / "agent.yaml").write_text(yaml.safe_dump(document))
        image = tmp_path / "image.bin"
        image.write_bytes(make_image(NEW))
        env = {
            "PATH": os.environ.get("PATH", ""),
            "EDGE_AGENT_PYTHON": sys.executable,
            "EDGE_HOOK_TARGET": "camera",
            "EDGE_AGENT_CONFIG": str(tmp_path / "agent.yaml"),
            "EDGE_CAMERA_DEVICE_ID": "cam-1",
            "EDGE_FIRMWARE_IMAGE": str(image),
            "EDGE_FIRMWARE_SHA256": hashlib.sha256(image.read_bytes()).hexdigest(),
            "EDGE_FIRMWARE_EXPECTED_VERSION": NEW,
            "EDGE_FIRMWARE_TIMEOUT_S": "15",
        }
        yield camera, env


async def hook(phase: str, env: dict[str, str]) -> tuple[int, list[dict[str, Any]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HOOKS / f"{phase}.py"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, _stderr = await asyncio.wait_for(process.communicate(), 60)
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    assert records and records[-1]["type"] == "result"  # the contract: exactly one result, last
    assert all(record["type"] == "progress" for record in records[:-1])
    assert process.returncode is not None
    return process.returncode, records


async def test_bad_digest_refused_by_pre(camera_env: tuple[CameraSimulator, dict[str, str]]) -> None:
    camera, env = camera_env
    code, records = await hook("pre", {**env, "EDGE_FIRMWARE_SHA256": "0" * 64})
    assert code == 1
    assert [c["name"] for c in records[-1]["checks"] if not c["ok"]] == ["image_digest"]
    assert camera.uploads == [] and camera.calls["StartFirmwareUpgrade"] == 0


async def test_pre_apply_post_then_rollback_answer(
    camera_env: tuple[CameraSimulator, dict[str, str]],
) -> None:
    camera, env = camera_env
    code, records = await hook("pre", {**env, "EDGE_CAMERA_RECORDING": "1"})
    assert code == 0, records[-1]
    assert records[-1]["facts"]["from_version"] == OLD
    code, records = await hook("apply", env)
    assert code == 0, records[-1]
    code, records = await hook("post", {**env, "EDGE_CAMERA_RECORDING": "1"})
    assert code == 0, records[-1]
    assert records[-1]["facts"]["to_version"] == NEW and records[-1]["facts"]["recording"] is True
    assert camera.state.firmware == NEW and len(camera.uploads) == 1
    code, records = await hook("rollback", env)  # no vendor variant offers one: a person must act
    assert code == 3
    assert records[-1]["fault"]["code"] == "manual_recovery_needed"


async def test_called_wrongly(camera_env: tuple[CameraSimulator, dict[str, str]]) -> None:
    _camera, env = camera_env
    code, records = await hook("pre", {k: v for k, v in env.items() if k != "EDGE_CAMERA_DEVICE_ID"})
    assert code == 64
    assert records[-1]["fault"]["code"] == "hook_usage"


async def test_scripted_camera_failures(camera_env: tuple[CameraSimulator, dict[str, str]]) -> None:
    camera, env = camera_env
    camera.state.firmware_outcome = "reject_image"  # the camera's own integrity check says no
    code, records = await hook("apply", env)
    assert code == 1  # refused: nothing was changed, no rollback needed
    assert records[-1]["checks"][-1]["name"] == "upload" and "HTTP 400" in records[-1]["checks"][-1]["detail"]
    camera.state.firmware_outcome = "old_version"  # reboots, but the old firmware boots again
    code, records = await hook("apply", env)
    assert code == 0
    # Back before this process started, so never seen down: the deadline decides. Kept short.
    code, records = await hook("post", {**env, "EDGE_FIRMWARE_TIMEOUT_S": "3"})
    assert code == 1
    assert records[-1]["facts"]["to_version"] == OLD
    assert [c["name"] for c in records[-1]["checks"] if not c["ok"]] == ["version"]


async def test_pre_refuses_in_a_declared_busy_period(
    camera_env: tuple[CameraSimulator, dict[str, str]],
) -> None:
    camera, env = camera_env
    now = datetime.now(UTC)
    window = {
        "start": f"{now - timedelta(hours=1):%H:%M}",
        "end": f"{now + timedelta(hours=1):%H:%M}",  # past midnight near midnight: still covered
        "reason": "enforcement campaign",
    }
    add_to_config(
        Path(env["EDGE_AGENT_CONFIG"]), health={"timezone": "UTC"}, firmware={"busy_periods": [window]}
    )
    code, records = await hook("pre", env)
    failed = {c["name"]: c["detail"] for c in records[-1]["checks"] if not c["ok"]}
    assert code == 1 and "enforcement campaign" in failed["not_busy"], records[-1]
    assert camera.calls["StartFirmwareUpgrade"] == 0


def add_to_config(path: Path, **sections: Any) -> None:
    document = yaml.safe_load(path.read_text())
    document.update(sections)
    path.write_text(yaml.safe_dump(document))
