"""Fault rules, per-check schedules, the `unknown` state for missing evidence, config and secrets."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from edge_agent.config import load_config
from edge_agent.devices.onvif_camera import rules
from edge_agent.devices.onvif_camera.codec import StorageStatus
from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
from edge_agent.devices.onvif_camera.schedule import CheckSchedule, Evidence
from edge_agent.errors import ConfigError
from edge_agent.health.tracker import HealthTracker
from edge_agent.readings import Fault, PollResult

GIB = 2**30


def zeep_fault(message: str, subcode: str) -> Exception:
    import zeep.exceptions
    from lxml import etree

    return zeep.exceptions.Fault(
        message,
        code="s:Sender",
        subcodes=[etree.QName("http://www.onvif.org/ver10/error", subcode.split(":")[1])],
    )


NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def camera(**fields: object) -> OnvifCameraConfig:
    base = {
        "type": "onvif_camera",
        "device_id": "c",
        "host": "127.0.0.1",
        "username": "u",
        "password": {"env": "P"},
    }
    return OnvifCameraConfig.model_validate({**base, **fields}, context={"environ": {"P": "x"}})


def codes(faults: list[Fault]) -> set[str]:
    return {fault.code for fault in faults}


def test_storage_rules() -> None:
    config = camera()
    assert codes(rules.storage(StorageStatus("ok", 119 * GIB, 2 * GIB), config).faults) == set()
    assert codes(rules.storage(StorageStatus("ok", 29 * GIB, GIB), config).faults) == {"sd_too_small"}
    assert codes(rules.storage(StorageStatus("ok", 119 * GIB, 0), config).faults) == {"sd_full"}
    assert codes(rules.storage(StorageStatus("missing"), config).faults) == {"sd_missing"}
    assert codes(rules.storage(StorageStatus("error", 119 * GIB, 0), config).faults) == {"sd_error"}
    assert (
        codes(rules.storage(StorageStatus("ok", 29 * GIB, GIB), camera(min_sd_capacity_gb=32)).faults)
        == set()
    )


def test_retention_rules_wired_vs_wireless() -> None:
    window = (NOW - timedelta(days=1.2), NOW - timedelta(seconds=5))
    assert codes(rules.retention(*window, NOW, ["Active"], camera()).faults) == set()
    wireless = rules.retention(*window, NOW, ["Active"], camera(link="wireless"))
    assert codes(wireless.faults) == {"retention_short"}
    assert wireless.values["retention_days"] == pytest.approx(1.2, abs=0.001)


def test_recording_stopped_rules() -> None:
    stale = (NOW - timedelta(days=4), NOW - timedelta(hours=1))
    assert codes(rules.retention(*stale, NOW, ["Idle"], camera()).faults) == {"recording_stopped"}
    assert codes(rules.retention(None, None, NOW, [], camera()).faults) == {"recording_stopped"}


def test_clock_rule() -> None:
    assert rules.clock(1.9, camera()) == []
    assert codes(rules.clock(-2.1, camera())) == {"clock_drift"}
    assert rules.clock(-2.1, camera(clock_tolerance_s=5)) == []


def test_schedule_intervals_retry_and_staleness() -> None:
    schedule = CheckSchedule({"storage": 900, "identity": 3600}, retry_s=30)
    assert schedule.due(0) == ["storage", "identity"]
    schedule.record("storage", 0, Evidence({"sd_state": "ok"}))
    schedule.failed("identity", 0, "timeout")
    assert schedule.due(29) == []
    assert schedule.due(30) == ["identity"]
    assert schedule.current(100)["identity"] is None
    assert schedule.current(100)["storage"] == Evidence({"sd_state": "ok"})
    schedule.failed("storage", 900, "http_error")  # one glitch: earlier evidence is kept a while
    assert schedule.current(1000)["storage"] is not None
    assert schedule.current(2 * 900 + 31)["storage"] is None
    assert schedule.errors() == {"storage": "http_error", "identity": "timeout"}


def test_missing_evidence_makes_state_unknown_never_ok() -> None:
    tracker = HealthTracker(offline_after_failures=1, now=NOW)
    assert tracker.on_success(PollResult(missing_evidence=("storage",)), NOW) == []
    assert tracker.health.state == "unknown"
    assert "storage" in tracker.health.reason
    tracker.on_success(PollResult(), NOW)
    assert tracker.health.state == "ok"
    fault = Fault("sd_missing", "critical", "no card")
    tracker.on_success(PollResult(faults=[fault], missing_evidence=("retention",)), NOW)
    assert tracker.health.state == "fault"  # a fault found outranks evidence missing elsewhere


def test_config_refuses_inline_password_and_tight_timeouts() -> None:
    with pytest.raises(ValueError, match="inline secrets"):
        camera(password="hunter2")
    with pytest.raises(ValueError, match="twice request_timeout_s"):
        camera(timeout_s=5, request_timeout_s=5)


def test_agent_config_collects_every_secret(tmp_path: Path) -> None:
    (tmp_path / "cam.pass").write_text("camera-secret\n")
    document = {
        "cabinet": {"id": "c1"},
        "mqtt": {"host": "127.0.0.1", "username": "u", "password": {"env": "MQTT_PW"}},
        "devices": [
            {
                "type": "onvif_camera",
                "device_id": "cam",
                "host": "10.0.0.2",
                "username": "admin",
                "password": {"file": "cam.pass"},
            },
        ],
    }
    path = tmp_path / "agent.yaml"
    path.write_text(yaml.safe_dump(document))
    config = load_config(path, environ={"MQTT_PW": "mqtt-secret"})
    assert sorted(config.secrets()) == ["camera-secret", "mqtt-secret"]
    assert "camera-secret" not in config.model_dump_json()


def test_config_error_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "agent.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "cabinet": {"id": "c1"},
                "mqtt": {"host": "127.0.0.1"},
                "devices": [
                    {
                        "type": "onvif_camera",
                        "device_id": "cam",
                        "host": "h",
                        "username": "a",
                        "password": {"env": "X"},
                        "storage_api": "sony",
                    }
                ],
            }
        )
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={"X": "y"})
    assert "devices[cam].storage_api" in str(caught.value)


def test_config_import_does_not_load_onvif() -> None:
    code = "import sys, edge_agent.config; print(sorted(m for m in ('onvif', 'zeep') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


async def test_firmware_change_survives_restart(tmp_path: Path) -> None:
    from edge_agent.devices.onvif_camera.identity import IdentityStore

    path = tmp_path / "onvif_camera" / "cam.json"
    first = IdentityStore(path)
    await first.load()
    assert await first.update({"model": "X", "firmware": "1.0"}) is None
    restarted = IdentityStore(path)
    await restarted.load()
    event = await restarted.update({"model": "X", "firmware": "1.1"})
    assert event is not None
    assert (event.type, event.detail["from"], event.detail["to"]) == ("camera_firmware_changed", "1.0", "1.1")
    path.write_text("{not json")
    broken = IdentityStore(path)
    await broken.load()  # an unreadable file is ignored, not fatal
    assert broken.current == {}


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConnectionRefusedError(), "tcp_refused"),
        (TimeoutError(), "timeout"),
        (zeep_fault("Sender not Authorized", "ter:NotAuthorized"), "auth_failed"),
        (zeep_fault("boom", "ter:Action"), "soap_fault"),
        (RuntimeError("wrapped"), "error"),
    ],
)
def test_classify(error: BaseException, code: str) -> None:
    from edge_agent.devices.onvif_camera.failures import classify

    assert classify(error) == code
