"""Pure parts of the camera firmware upgrade: the simulator's image format (hostile bytes), the
contract's exit codes, and the command arguments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from edge_agent.commands.firmware import BatchArgs, UpgradeArgs
from edge_agent.firmware.result import EXIT_CHANGED, EXIT_MANUAL, EXIT_OK, EXIT_REFUSED, PhaseResult
from edge_agent.simulators.onvif_camera.firmware import MAGIC, image_version, make_image

SHA = "ab" * 32


@given(st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64))
def test_image_round_trip(version: str) -> None:
    assert image_version(make_image(version, 512)) == version


@given(st.binary(max_size=400))
def test_any_bytes_are_an_answer_never_an_error(data: bytes) -> None:
    version = image_version(data)
    assert version is None or (data.startswith(MAGIC) and 0 < len(version) <= 64)


def test_exit_codes_follow_the_contract() -> None:
    result = PhaseResult("camera/pre")
    result.check("image_digest", True, "matches")
    assert result.exit_code == EXIT_OK and result.summary == "all checks passed"
    result.check("device_healthy", False, "device state is offline")
    assert result.exit_code == EXIT_REFUSED and result.summary == "device_healthy: device state is offline"
    result.changed = True
    assert result.exit_code == EXIT_CHANGED
    result.fault = {"code": "manual_recovery_needed", "severity": "critical", "message": "on site"}
    assert result.exit_code == EXIT_MANUAL and result.record()["fault"]["code"] == "manual_recovery_needed"


@pytest.mark.parametrize(
    "args",
    [
        {"image": "../etc/shadow"},  # a file name only: nothing outside the firmware folder
        {"image": "sub/dir.bin"},
        {"sha256": "ab" * 31},
        {"sha256": "zz" * 32},
        {"expected_version": ""},
        {"timeout_s": 0},
    ],
)
def test_upgrade_args_refused(args: dict[str, object]) -> None:
    base = {"device_id": "cam-1", "image": "fw.bin", "sha256": SHA, "expected_version": "V2"}
    with pytest.raises(ValidationError):
        UpgradeArgs.model_validate({**base, **args})


def test_batch_args() -> None:
    base = {"image": "fw.bin", "sha256": SHA, "expected_version": "V2"}
    assert BatchArgs.model_validate({**base, "device_ids": ["a", "b"], "batch_size": 2}).batch_size == 2
    for bad in ({"device_ids": []}, {"device_ids": ["a", "a"]}, {"device_ids": ["a"], "batch_size": 0}):
        with pytest.raises(ValidationError):
            BatchArgs.model_validate({**base, **bad})


def test_busy_periods() -> None:
    from datetime import datetime

    from edge_agent.firmware.config import FirmwareConfig

    config = FirmwareConfig.model_validate(
        {
            "busy_periods": [
                {"weekdays": [0, 1, 2, 3, 4], "start": "07:00", "end": "09:30", "reason": "rush hour"},
                {"weekdays": [4], "start": "22:00", "end": "02:00"},  # Friday night, past midnight
            ]
        }
    )
    monday, saturday = datetime(2026, 11, 23, 8, 0), datetime(2026, 11, 28, 8, 0)
    assert config.busy_at(monday) is not None and config.busy_at(saturday) is None
    assert config.busy_at(datetime(2026, 11, 23, 9, 30)) is None  # the end is not inside
    assert config.busy_at(datetime(2026, 11, 27, 23, 0)) is not None  # Friday 23:00
    assert config.busy_at(datetime(2026, 11, 28, 1, 59)) is not None  # Saturday 01:59, same window
    assert config.busy_at(datetime(2026, 11, 29, 1, 0)) is None  # Sunday 01:00: Saturday has none
    with pytest.raises(ValidationError):
        FirmwareConfig.model_validate({"busy_periods": [{"weekdays": [7], "start": "01:00", "end": "02:00"}]})


@pytest.mark.parametrize(
    ("uri", "own"),
    [
        ("http://192.0.2.10/firmware/upload/ab12", True),
        ("https://192.0.2.10:8443/up", True),
        ("http://192.0.2.99/firmware/upload/ab12", False),  # another host: the image never goes there
        ("http://192.0.2.10.example.net/up", False),
        ("ftp://192.0.2.10/up", False),
        ("", False),
    ],
)
def test_image_goes_only_to_the_camera_itself(uri: str, own: bool) -> None:
    from pydantic import SecretStr

    from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
    from edge_agent.firmware.camera import CameraFirmware

    fields = {"type": "onvif_camera", "device_id": "cam-1", "host": "192.0.2.10", "username": "u"}
    config = OnvifCameraConfig.model_validate({**fields, "password": SecretStr("p")})

    async def progress(_message: str, _facts: dict[str, object]) -> None:
        """Not called here."""

    assert CameraFirmware(config, progress)._own_uri(uri) is own


def test_fault_raised_outside_a_poll_stays_while_the_poller_reports_it() -> None:
    from edge_agent.errors import DeviceTimeout
    from edge_agent.health.tracker import FaultCleared, FaultRaised, HealthTracker
    from edge_agent.readings import Fault, PollResult, utc_now

    tracker = HealthTracker(offline_after_failures=1, now=utc_now())
    tracker.on_failure(DeviceTimeout("rebooting"), utc_now())
    fault = Fault("manual_recovery_needed", "critical", "recover on site")
    assert tracker.raise_fault(fault, utc_now()) == [FaultRaised(fault)]
    assert tracker.raise_fault(fault, utc_now()) == []  # once
    assert tracker.health.state == "offline" and "manual_recovery_needed" in tracker.health.faults
    assert not tracker.on_success(PollResult(faults=[fault]), utc_now())[:-1]  # only the state moves
    assert tracker.health.state == "fault"
    changes = tracker.on_success(PollResult(), utc_now())  # the poller stopped reporting it
    assert isinstance(changes[0], FaultCleared) and tracker.health.state == "ok"


def test_command_line_without_a_running_agent(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from edge_agent.cli import main

    assert main(["command", "ping", "--data-dir", str(tmp_path), "--wait-s", "2"]) == 2
    assert "cannot ask the agent" in capsys.readouterr().err
    assert main(["command", "ping", "--data-dir", str(tmp_path), "--args", "{not json"]) == 2
