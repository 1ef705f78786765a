"""The device state machine: debounce, fault severities, changes reported once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge_agent.errors import DeviceError, DeviceUnreachable
from edge_agent.health.tracker import FaultCleared, FaultRaised, HealthTracker, StateChanged
from edge_agent.readings import Fault, PollResult

T0 = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
WARN = Fault("disk_full", "warning", "disk at 90 %")
CRIT = Fault("lamp_dead", "critical", "no current")


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_starts_unknown_then_ok_on_first_success() -> None:
    tracker = HealthTracker(offline_after_failures=3, now=T0)
    assert tracker.health.state == "unknown"
    assert tracker.on_success(PollResult(), _at(1)) == [StateChanged("unknown", "ok", None, "", _at(1))]
    assert tracker.on_success(PollResult(), _at(2)) == []  # no repeats


def test_one_lost_poll_is_not_an_outage() -> None:
    tracker = HealthTracker(offline_after_failures=3, now=T0)
    tracker.on_success(PollResult(), _at(1))
    assert tracker.on_failure(DeviceError("lost"), _at(2)) == []
    assert tracker.on_failure(DeviceError("lost"), _at(3)) == []
    assert tracker.on_success(PollResult(), _at(4)) == []  # counter reset
    assert tracker.on_failure(DeviceError("lost"), _at(5)) == []
    assert tracker.health.state == "ok"


def test_offline_after_n_failures_with_the_error_cause() -> None:
    tracker = HealthTracker(offline_after_failures=2, now=T0)
    tracker.on_success(PollResult(), _at(1))
    tracker.on_failure(DeviceUnreachable("port gone", cause="cabinet"), _at(2))
    changes = tracker.on_failure(DeviceUnreachable("port gone", cause="cabinet"), _at(3))
    # Confirmed after the debounce, back-dated to the first failed poll: that is when it began.
    assert changes == [StateChanged("ok", "offline", "cabinet", "port gone", _at(2))]
    assert tracker.health.since == _at(2)
    assert tracker.on_failure(DeviceError("still"), _at(4)) == []


def test_faults_set_degraded_or_fault_and_are_raised_and_cleared_once() -> None:
    tracker = HealthTracker(offline_after_failures=1, now=T0)
    changes = tracker.on_success(PollResult(faults=[WARN]), _at(1))
    assert changes == [FaultRaised(WARN), StateChanged("unknown", "degraded", None, "disk at 90 %", _at(1))]
    changes = tracker.on_success(PollResult(faults=[WARN, CRIT]), _at(2))
    assert changes == [FaultRaised(CRIT), StateChanged("degraded", "fault", "device", "no current", _at(2))]
    assert tracker.on_success(PollResult(faults=[WARN, CRIT]), _at(3)) == []
    changes = tracker.on_success(PollResult(), _at(12))
    assert changes == [
        FaultCleared(WARN, 11.0),
        FaultCleared(CRIT, 10.0),
        StateChanged("fault", "ok", None, "", _at(12)),
    ]


def test_a_failure_run_broken_by_a_good_poll_starts_again_from_the_next_failure() -> None:
    tracker = HealthTracker(offline_after_failures=2, now=T0)
    tracker.on_failure(DeviceError("lost"), _at(1))
    tracker.on_success(PollResult(), _at(2))
    tracker.on_failure(DeviceError("lost"), _at(3))
    changes = tracker.on_failure(DeviceError("lost"), _at(4))
    assert [change.at for change in changes if isinstance(change, StateChanged)] == [_at(3)]


def test_fault_text_update_is_not_a_new_fault() -> None:
    tracker = HealthTracker(offline_after_failures=1, now=T0)
    tracker.on_success(PollResult(faults=[WARN]), _at(1))
    newer = Fault("disk_full", "warning", "disk at 91 %")
    assert tracker.on_success(PollResult(faults=[newer]), _at(2)) == []
    assert tracker.health.faults["disk_full"].since == _at(1)
    assert tracker.health.reason == "disk at 91 %"
