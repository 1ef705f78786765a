"""The camera kind against the ONVIF simulator over real HTTP/SOAP/RTSP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from camera_sim import PASSWORD, open_poller, start_camera

from edge_agent.errors import DeviceProtocolError, DeviceTimeout, DeviceUnreachable
from edge_agent.health.tracker import HealthTracker
from edge_agent.readings import utc_now
from edge_agent.simulators.onvif_camera.server import CameraSimulator

pytestmark = pytest.mark.integration


# scripted state -> (camera settings, expected fault codes, expected tracker state)
CASES = {
    "healthy": ({}, set(), "ok"),
    "missing_card": ({}, {"sd_missing"}, "fault"),
    "small_card": ({}, {"sd_too_small"}, "fault"),
    "full_card": ({}, {"sd_full"}, "degraded"),
    "card_error": ({}, {"sd_error"}, "fault"),
    "unformatted_card": ({}, {"sd_unformatted"}, "fault"),
    "recording_stopped": ({}, {"recording_stopped"}, "fault"),
    "short_retention": ({"link": "wireless"}, {"retention_short"}, "fault"),
    "skewed_clock": ({}, {"clock_drift"}, "fault"),
    "no_profile_g": ({}, set(), "unknown"),
    "no_video": ({"rtsp_probe": True}, {"stream_unavailable"}, "fault"),
}


@pytest.mark.parametrize("state", sorted(CASES))
async def test_scripted_state_gives_faults_and_state(
    stack: AsyncExitStack, tmp_path: Path, state: str
) -> None:
    settings, expected_faults, expected_state = CASES[state]
    camera = await start_camera(stack, state)
    poller = await open_poller(stack, camera, tmp_path, **settings)
    result = await poller.poll()
    assert {fault.code for fault in result.faults} == expected_faults
    tracker = HealthTracker(offline_after_failures=1, now=utc_now())
    tracker.on_success(result, utc_now())
    assert tracker.health.state == expected_state


async def test_healthy_camera_values(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path, rtsp_probe=True, link="wireless")
    values = (await poller.poll()).values
    assert values["manufacturer"] == "HIKVISION"
    assert values["sd_nominal_gb"] == 128  # reports 119 GiB, judged as the 128 GB label
    assert values["sd_state"] == "ok"
    assert values["retention_days"] == pytest.approx(3.5, abs=0.01)
    assert values["recording_active"] is True
    assert values["rtsp_ok"] is True
    assert abs(float(values["clock_drift_s"])) <= 1.0  # type: ignore[arg-type]  # a test double or a deliberately wrong value


@pytest.mark.parametrize("vendor", ["dahua", "axis"])
async def test_other_vendor_storage_apis(stack: AsyncExitStack, tmp_path: Path, vendor: str) -> None:
    camera = await start_camera(stack, "missing_card", vendor=vendor)
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert {fault.code for fault in result.faults} == {"sd_missing"}
    camera.state.card, camera.state.card_capacity_bytes, camera.state.card_free_bytes = (
        "ok",
        119 * 2**30,
        2**30,
    )
    poller.schedule.make_due("storage")
    result = await poller.poll()
    assert result.faults == []
    assert result.values["sd_nominal_gb"] == 128


async def test_clock_skewed_900_s_drift_reported_and_queries_authenticate(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "skewed_clock")
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert float(result.values["clock_drift_s"]) == pytest.approx(900, abs=1.0)  # type: ignore[arg-type]  # a test double or a deliberately wrong value
    assert result.values["serial"]  # GetDeviceInformation needed a signed token within +-300 s
    assert result.missing_evidence == ()
    assert [fault.code for fault in result.faults] == ["clock_drift"]


async def test_wrong_password_is_an_auth_fault_not_offline(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path, password="wrong-password")
    result = await poller.poll()
    assert [fault.code for fault in result.faults] == ["auth_failed"]
    assert "clock_drift_s" in result.values  # reachable: the clock needs no login
    assert set(result.missing_evidence) == {"identity", "streams", "storage", "retention"}


async def test_unknown_vendor_leaves_state_unknown(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy", vendor="generic")
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert result.faults == []
    assert result.missing_evidence == ("storage",)
    assert "manufacturer 'Generic'" in result.diagnostics["check_errors"]["storage"]


async def test_connection_refused_is_unreachable(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path)
    await camera.stop()
    with pytest.raises(DeviceUnreachable, match="tcp_refused"):
        await poller.poll()


@pytest.mark.parametrize(
    ("wire", "code"),
    [
        ("malformed_xml", "bad_xml"),
        ("soap_fault", "soap_fault"),
        ("xml_bomb", "bad_xml"),
        ("external_entity", "bad_xml"),
        ("huge", "too_large"),
        ("http_500", "http_error"),
    ],
)
async def test_hostile_answers_rejected_and_poller_recovers(
    stack: AsyncExitStack, tmp_path: Path, wire: str, code: str
) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path)
    camera.state.wire = wire  # type: ignore[assignment]  # the test swaps in a double
    with pytest.raises(DeviceProtocolError, match=code) as caught:
        await poller.poll()
    assert "root:" not in str(caught.value)  # the external entity (/etc/passwd) was never resolved
    camera.state.wire = "normal"
    result = await poller.poll()
    assert result.faults == []


async def test_tls_failure_is_classified(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path, scheme="https")  # TLS to a plain-HTTP port
    with pytest.raises(DeviceProtocolError, match="tls_error"):
        await poller.poll()


async def test_hung_camera_times_out(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "hung")
    poller = await open_poller(stack, camera, tmp_path, request_timeout_s=0.5, timeout_s=2)
    with pytest.raises(DeviceTimeout, match="timeout"):
        await poller.poll()


async def test_firmware_change_is_an_event(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy")
    poller = await open_poller(stack, camera, tmp_path)
    assert (await poller.poll()).events == []
    camera.state.firmware = "V5.8.0 build 240101"
    poller.schedule.make_due("identity")
    events = (await poller.poll()).events
    assert [(e.type, e.detail["from"], e.detail["to"]) for e in events] == [
        ("camera_firmware_changed", "V5.7.3 build 220112", "V5.8.0 build 240101")
    ]


async def test_sync_time_fixes_skewed_clock(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "skewed_clock")
    poller = await open_poller(stack, camera, tmp_path)
    await poller.poll()
    reply = await poller.run_action("sync_time", {})
    assert reply["mode"] == "manual"
    assert abs(camera.state.clock_skew_s) < 2
    result = await poller.poll()  # the session re-measured its signing offset: still authenticates
    assert "clock_drift" not in {fault.code for fault in result.faults}
    assert result.values["serial"]


async def test_sync_time_with_ntp(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "skewed_clock")
    poller = await open_poller(stack, camera, tmp_path, ntp_server="127.0.0.1")
    reply = await poller.run_action("sync_time", {})
    assert reply["mode"] == "ntp"
    assert camera.state.ntp_server == "127.0.0.1"
    assert camera.state.clock_skew_s == 0


async def test_reboot_makes_camera_unreachable_then_back(stack: AsyncExitStack, tmp_path: Path) -> None:
    camera = await start_camera(stack, "healthy", reboot_s=1.0)
    poller = await open_poller(stack, camera, tmp_path)
    await poller.poll()
    await poller.run_action("reboot", {})
    assert camera.reboots == 1
    await asyncio.wait_for(camera.went_down.wait(), 5)
    with pytest.raises(DeviceUnreachable, match="tcp_refused"):
        await poller.poll()
    await asyncio.wait_for(camera.came_up.wait(), 5)
    result = await poller.poll()
    assert "serial" in result.values
    assert PASSWORD not in repr(result)


async def test_simulator_command_line_scenario(stack: AsyncExitStack, tmp_path: Path) -> None:
    (tmp_path / "cam.pass").write_text(PASSWORD)
    scenario = (
        "user: admin\npassword_file: cam.pass\n"
        "cameras:\n  - {state: healthy}\n  - {state: card_error, vendor: axis}\n"
    )
    (tmp_path / "cameras.yaml").write_text(scenario)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edge_agent.simulators.onvif_camera",
        "--scenario",
        str(tmp_path / "cameras.yaml"),
        stdout=asyncio.subprocess.PIPE,
    )
    stack.push_async_callback(process.wait)
    stack.callback(process.terminate)
    assert process.stdout is not None
    async with asyncio.timeout(20):
        lines = [(await process.stdout.readline()).decode() for _ in range(2)]
    assert lines[1].startswith("camera axis on http://127.0.0.1:")
    port = int(lines[1].split("127.0.0.1:")[1].split()[0])
    camera = CameraSimulator(user="admin", password=PASSWORD, port=port)  # only its address is used
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert [fault.code for fault in result.faults] == ["sd_error"]
    assert result.values["manufacturer"] == "AXIS"
