"""What one occurrence is for the repeat-fault rule: an episode of a device, by code, raise to repair."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.devices.link.config import LinkConfig
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import HealthCore, ReplaceRecommended
from edge_agent.health.ledger import MaintenanceWindow

T0 = 1_790_000_000.0
CONFIG = HealthConfig(repeat_fault_count=1)  # the first recurrence recommends a replacement


def _core(data_dir: Path, boot: int = 1, at: float = T0) -> HealthCore:
    core = HealthCore(data_dir, CONFIG, boot_id=f"boot-{boot}", durable_marks=False)
    core.start(at, ["cam1", "ups"])
    core.values({"mains_present": True, "uplink_up": True, "lan_up": True}, at)
    return core


def _outage(core: HealthCore, start: float, end: float) -> list[ReplaceRecommended]:
    core.device_state("cam1", "ok", None, start - 1)
    core.device_state("cam1", "offline", "device", start + 5, since=start)
    return core.device_state("cam1", "ok", None, end).replace


def test_a_camera_that_hangs_twice_is_recommended_at_the_end_of_the_second_outage(tmp_path: Path) -> None:
    core = _core(tmp_path)
    assert _outage(core, T0 + 10, T0 + 20) == []
    [replace] = _outage(core, T0 + 40, T0 + 50)
    assert (replace.device_id, replace.code, replace.recurrences) == ("cam1", "offline", 1)


def test_the_back_dated_outage_is_booked_from_the_first_failed_poll(tmp_path: Path) -> None:
    core = _core(tmp_path)
    _outage(core, T0 + 10, T0 + 20)
    totals = core.ledger.totals("cam1", "2000-01-01", "2100-01-01", now=T0 + 30)
    assert totals.offline_cause_s == {"device": pytest.approx(10.0)}


def test_outages_with_a_power_cut_or_only_maintenance_are_not_the_devices_failures(tmp_path: Path) -> None:
    core = _core(tmp_path)
    core.device_state("cam1", "offline", "device", T0 + 10)
    core.values({"mains_present": False}, T0 + 12)  # the meter read after the camera timed out
    core.values({"mains_present": True}, T0 + 20)
    core.device_state("cam1", "ok", None, T0 + 25)
    core.start_maintenance(MaintenanceWindow(T0 + 30, T0 + 60, frozenset({"cam1"})), T0 + 30)
    core.device_state("cam1", "offline", "device", T0 + 35)
    assert core.device_state("cam1", "ok", None, T0 + 50).replace == []
    assert core.replace_recommended == {}


def test_a_fault_seen_again_after_a_restart_is_the_same_episode(tmp_path: Path) -> None:
    core = _core(tmp_path)
    assert core.fault_raised("cam1", "auth_failed", T0 + 1) is None
    for boot in (2, 3, 4):  # kill -9 and restart: the first poll raises the active fault anew
        core.ledger.close()
        core = _core(tmp_path, boot, T0 + boot * 10)
        assert core.fault_raised("cam1", "auth_failed", T0 + boot * 10 + 1) is None
    assert core.replace_recommended == {}
    core.fault_cleared("cam1", "auth_failed", T0 + 50)
    assert core.fault_raised("cam1", "auth_failed", T0 + 60) is not None  # a real recurrence


def test_a_fault_gone_at_the_first_good_poll_after_a_restart_was_repaired_meanwhile(tmp_path: Path) -> None:
    core = _core(tmp_path)
    core.fault_raised("cam1", "sd_error", T0 + 1)
    core.ledger.close()
    core = _core(tmp_path, 2, T0 + 10)
    assert core.active_faults() == {"cam1": ["sd_error"]}
    core.good_poll("cam1", set(), T0 + 11)
    assert core.active_faults() == {}
    assert core.fault_raised("cam1", "sd_error", T0 + 20) is not None  # raised again after repair


def test_faults_that_are_not_the_devices_never_count(tmp_path: Path) -> None:
    core = _core(tmp_path)
    for at in (T0 + 1, T0 + 20, T0 + 40):
        assert core.fault_raised("ups", "mains_lost", at, cause="power_supply") is None
        core.fault_cleared("ups", "mains_lost", at + 10)
    core.ledger.close()
    assert _core(tmp_path, 2, T0 + 60).replace_recommended == {}  # nor after a replay


def test_link_timings_that_cannot_fit_in_the_poll_are_refused() -> None:
    fields = {"type": "link", "device_id": "uplink", "broker": {"host": "10.0.0.1", "port": 8883}}
    LinkConfig.model_validate(fields)  # the defaults fit
    with pytest.raises(ValueError, match="must be shorter than timeout_s"):
        LinkConfig.model_validate({**fields, "attempts": 3, "connect_timeout_s": 2})
