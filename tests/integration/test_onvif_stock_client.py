"""The simulator met by an independent client: the stock `onvif-zeep` 0.2.12 (the package the
design names), in its own venv (`dev.sh setup`), doing what integrators do first with a camera.

Before, it could not even open the simulator ("GetCapabilities not supported"). The strict-auth
camera is shown to the stock client and to the agent's poller alike: login is needed even for the
clock, and with the right password neither sees an authentication failure.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from camera_sim import PASSWORD, USER, open_poller, start_camera
from support.requirements import missing

from edge_agent.simulators.onvif_camera.server import CameraSimulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "support" / "onvif_zeep_client.py"
USUAL_CALLS = (
    "ONVIFCamera", "GetSystemDateAndTime", "GetDeviceInformation", "GetScopes", "GetHostname", "GetNTP",
    "GetNetworkInterfaces", "GetServices", "GetCapabilities", "GetProfiles", "GetVideoSources",
    "GetStreamUri", "GetSnapshotUri", "snapshot",
)  # fmt: skip


async def stock_client(camera: CameraSimulator, password: str = PASSWORD, *mode: str) -> dict[str, Any]:
    python = ROOT / ".venv-onvif-zeep" / "bin" / "python"
    if not python.exists():
        missing("the stock onvif-zeep venv is missing: run ./dev.sh setup")
    process = await asyncio.create_subprocess_exec(
        str(python), str(CLIENT), camera.host, str(camera.port), USER, *mode,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(f"{password}\n".encode()), 120)
    assert process.returncode == 0, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out)
    return result


def _errors(result: dict[str, Any]) -> dict[str, str]:
    failed = {name: value for name, value in result.items() if isinstance(value, dict) and "error" in value}
    return {name: value["error"] for name, value in failed.items()}


async def test_stock_onvif_zeep_opens_the_simulator_and_makes_the_usual_calls(stack: AsyncExitStack) -> None:
    camera = await start_camera(stack, "healthy")
    result = await stock_client(camera)
    assert _errors(result) == {}
    assert set(USUAL_CALLS) <= set(result)
    assert result["anonymous_GetSystemDateAndTime"]["UTCDateTime"]["Date"]["Year"] >= 2026  # Core: open
    assert result["GetDeviceInformation"]["Manufacturer"] == "HIKVISION"
    assert result["GetCapabilities"]["Media"]["XAddr"] == f"{camera.base_url}/onvif/media_service"
    assert "onvif://www.onvif.org/Profile/Streaming" in [s["ScopeItem"] for s in result["GetScopes"]]
    main = result["GetProfiles"][0]
    assert main["VideoSourceConfiguration"]["SourceToken"] == result["GetVideoSources"][0]["token"]
    assert main["VideoEncoderConfiguration"]["Encoding"] == "H264"
    assert main["VideoEncoderConfiguration"]["Resolution"] == {"Width": 2688, "Height": 1520}
    assert result["GetStreamUri"]["Uri"].startswith(f"rtsp://{camera.host}:{camera.rtsp_port}/")
    assert result["snapshot"] == {"status": 200, "type": "image/jpeg", "jpeg_markers": ["ffd8", "ffd9"]}
    assert result["GetNetworkInterfaces"][0]["IPv4"]["Config"]["Manual"][0]["Address"] == camera.host
    assert result["GetHostname"]["Name"]


async def test_strict_auth_as_the_stock_client_and_the_agent_see_it(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "strict_auth")
    result = await stock_client(camera)
    # Login even for the clock, as some vendors do; every call with the right password works.
    assert _errors(result) == {"anonymous_GetSystemDateAndTime": "Fault: Sender not Authorized"}
    poller = await open_poller(stack, camera, tmp_path)
    polled = await poller.poll()
    assert polled.faults == []  # no false auth_failed
    assert "clock_drift_s" in polled.values and polled.values["serial"]


async def test_wrong_password_as_the_stock_client_and_the_agent_see_it(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "healthy")
    result = await stock_client(camera, password="wrong-password")
    assert "Sender not Authorized" in result["ONVIFCamera"]["error"]
    assert "error" not in result["anonymous_GetSystemDateAndTime"]  # the clock stays open
    poller = await open_poller(stack, camera, tmp_path, password="wrong-password")
    assert [fault.code for fault in (await poller.poll()).faults] == ["auth_failed"]


async def test_strict_camera_far_off_as_the_stock_client_and_the_agent_see_it(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    # Login for everything and the clock 15 minutes ahead: outside the 300 s token window.
    camera = await start_camera(stack, "strict_auth_skewed")
    result = await stock_client(camera, PASSWORD, "clock")
    # Signed in this machine's clock: refused like a wrong password, with the camera's clock in
    # the refusal's HTTP Date; signed again in that clock (the library's dt_diff), accepted.
    assert "Sender not Authorized" in result["ONVIFCamera"]["error"]
    assert "Sender not Authorized" in result["signed_GetSystemDateAndTime"]["error"]
    assert abs(result["dt_diff_s"] - 900.0) < 3.0, result["refusal_date"]
    assert result["resigned_GetDeviceInformation"]["Manufacturer"] == "HIKVISION"
    assert "error" not in result["resigned_GetSystemDateAndTime"]
    refused_before_agent = camera.refusals["stale_created"]
    assert refused_before_agent >= 2 and camera.refusals["bad_digest"] == 0
    poller = await open_poller(stack, camera, tmp_path)
    polled = await poller.poll()
    assert [fault.code for fault in polled.faults] == ["clock_drift"]  # not auth_failed
    assert abs(float(polled.values["clock_drift_s"]) - 900.0) < 3.0 and polled.values["serial"]
