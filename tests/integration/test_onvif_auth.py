"""Authentication as real cameras do it, against the agent's camera poller.

A camera that wants login even for its clock (strict), a web API on HTTP Basic, and an auth
failure of one periodic check: the poller must report `auth_failed` exactly when a call made with
the configured credentials is refused, and keep it until the check that failed passes.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from camera_sim import open_poller, start_camera

from edge_agent.readings import PollResult

pytestmark = pytest.mark.integration


def _codes(result: PollResult) -> list[str]:
    return sorted(fault.code for fault in result.faults)


async def test_strict_camera_with_the_right_password_is_not_an_auth_failure(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "strict_auth")
    poller = await open_poller(stack, camera, tmp_path)
    for _ in range(2):  # the first poll has no session yet; the second reuses it
        result = await poller.poll()
        assert _codes(result) == [], result.faults
        assert "clock_drift_s" in result.values
        assert result.missing_evidence == ()
    await poller.session.reset()  # as after an outage: no session again
    assert _codes(await poller.poll()) == []


async def test_strict_camera_with_a_wrong_password_is_an_auth_failure(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "strict_auth")
    poller = await open_poller(stack, camera, tmp_path, password="wrong-password")
    result = await poller.poll()
    assert _codes(result) == ["auth_failed"]


@pytest.mark.parametrize("state", ["healthy", "basic_web_auth"])
async def test_sd_card_api_on_basic_or_digest(stack: AsyncExitStack, tmp_path: Path, state: str) -> None:
    camera = await start_camera(stack, state)
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert _codes(result) == [], result.diagnostics
    assert result.values["sd_capacity_bytes"] > 0
    assert camera.calls["/ISAPI/ContentMgmt/Storage"] == 1


@pytest.mark.parametrize("vendor", ["dahua", "axis"])
async def test_other_vendors_on_basic(stack: AsyncExitStack, tmp_path: Path, vendor: str) -> None:
    camera = await start_camera(stack, "basic_web_auth", vendor=vendor)
    poller = await open_poller(stack, camera, tmp_path)
    assert _codes(await poller.poll()) == []


async def test_an_auth_failure_of_a_periodic_check_stays_until_that_check_passes(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "healthy", web_password="another-password")
    poller = await open_poller(stack, camera, tmp_path, poll_interval_s=60)
    assert _codes(await poller.poll()) == ["auth_failed"]  # the storage check was refused
    for _ in range(3):  # polls where the storage check is not due: the fault stays
        assert "storage" not in poller.schedule.due(time.monotonic())
        assert _codes(await poller.poll()) == ["auth_failed"]
    camera.state.web_password = None  # the installer fixed the web account
    poller.schedule.make_due("storage")
    assert _codes(await poller.poll()) == []  # the storage check passed: its fault is cleared


async def test_strict_camera_with_a_far_off_clock_is_clock_drift_not_auth_failure(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    # Login even for the clock, and 15 minutes off: a token signed with the cabinet's clock is
    # outside the camera's freshness window. The right password must not read as auth_failed.
    camera = await start_camera(stack, "strict_auth", clock_skew_s=900.0)
    poller = await open_poller(stack, camera, tmp_path)
    for _ in range(2):  # the first poll has no session yet; the second reuses it
        result = await poller.poll()
        assert _codes(result) == ["clock_drift"], result.faults
        assert abs(float(result.values["clock_drift_s"]) - 900.0) < 3.0
        assert result.missing_evidence == ()
    await poller.session.reset()  # as after an outage: no session again
    assert _codes(await poller.poll()) == ["clock_drift"]
    assert camera.refusals["stale_created"] >= 1  # the camera did refuse the cabinet's clock


async def test_strict_camera_far_off_with_a_wrong_password_is_both_faults(
    stack: AsyncExitStack, tmp_path: Path
) -> None:
    camera = await start_camera(stack, "strict_auth", clock_skew_s=-900.0)
    poller = await open_poller(stack, camera, tmp_path, password="wrong-password")
    result = await poller.poll()
    # Refused once corrected too: a real auth failure; the refusal's Date still shows the clock.
    assert _codes(result) == ["auth_failed", "clock_drift"], result.faults
    assert abs(float(result.values["clock_drift_s"]) + 900.0) < 3.0
    assert camera.refusals["bad_digest"] >= 1


async def test_the_camera_freshness_window_is_its_own(stack: AsyncExitStack, tmp_path: Path) -> None:
    # A camera stricter than the usual 300 s: 2 minutes off is already outside its window.
    camera = await start_camera(stack, "strict_auth", clock_skew_s=120.0, auth_window_s=60.0)
    poller = await open_poller(stack, camera, tmp_path)
    result = await poller.poll()
    assert _codes(result) == ["clock_drift"], result.faults
    assert camera.refusals["stale_created"] >= 1
