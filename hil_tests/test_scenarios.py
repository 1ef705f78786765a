"""Short scenarios on one simulated cabinet: each injects a real fault, the centre times what it sees.

Every test leaves the cabinet as it found it (all devices ok, agent running, uplink up), so the
order does not matter. The row each one records goes into the summary table of the run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from bench import Bench
from cabinets import restart_agent
from centre import GOAL_CABINET_S, GOAL_DEVICE_S, ROWS, CabinetView, Row
from netbench import SimulatedBench, SimulatedCabinet

pytestmark = pytest.mark.integration

SEE_S = 120.0  # how long a test waits for the centre: over the goals, far under the contract
METER, UPS, STROBE = 1, 5, 4
MAINS_ON = {"voltage_l1_v": 230.4, "voltage_l2_v": 231.1, "voltage_l3_v": 229.6}
MAINS_OFF = dict.fromkeys(MAINS_ON, 0.0)


def faulted(code: str) -> Any:
    return lambda s: (
        s.get("state") in ("fault", "degraded") and code in {f["code"] for f in s.get("faults", [])}
    )


def ok(s: dict[str, Any]) -> bool:
    return s.get("state") == "ok"


class Summary:
    """A scenario's row of the run's table; made before the fault, to count what the centre lost."""

    def __init__(self, view: CabinetView) -> None:
        self.view = view
        self.first = view.last_seq()

    def record(self, name: str, injected: float, seen_at: float, goal: float, cause: str | None) -> None:
        lost = self.view.lost_between(self.first, self.view.last_seq())
        ROWS.append(Row(name, seen_at - injected, goal, cause, lost))


def mains(cab: SimulatedCabinet, present: bool, ups_carries: bool = True) -> None:
    """The meter's reading and the UPS's inputs as they are with (or without) mains."""
    cab.rig_call("PUT", f"/modbus/{METER}", MAINS_ON if present else MAINS_OFF)
    ups = {
        "mains_present": present,
        "on_battery": not present and ups_carries,
        "input_voltage_v": 230.0 * present,
    }
    cab.rig_call("PUT", f"/modbus/{UPS}", ups)


def test_sd_card_failure(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.rig_call("PUT", "/camera/cam-entry/state/card_error")
    seen = view.state("cam-entry", injected, SEE_S, faulted("sd_error"))
    cab.rig_call("PUT", "/camera/cam-entry/state/healthy")
    view.state("cam-entry", seen.at, SEE_S, ok)
    summary.record("SD card failure", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"])


def test_strobe_failure_at_night(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.rig_call("PUT", f"/modbus/{STROBE}", {"night": True, "branch_current_a": 0.0})  # lit, draws nothing
    seen = view.state("strobe-branch", injected, SEE_S, faulted("lamp_dark"))
    cab.rig_call("PUT", f"/modbus/{STROBE}", {"night": False, "branch_current_a": 1.8})
    view.state("strobe-branch", seen.at, SEE_S, ok)
    summary.record("strobe failure at night", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"])


def test_radar_falls_silent(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.rig_call("PUT", "/radar/silent")
    seen = view.state("radar", injected, SEE_S, lambda s: s.get("state") != "ok")
    cab.rig_call("PUT", "/radar/resume")
    view.state("radar", seen.at, SEE_S, ok)
    summary.record(
        "radar silent", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"] or seen.json()["state"]
    )


def test_clock_drift_and_time_sync(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.rig_call("PUT", "/camera/cam-side/state/skewed_clock")
    seen = view.state("cam-side", injected, SEE_S, faulted("clock_drift"))
    reply = view.command("camera_sync_time", device_id="cam-side")
    assert reply["status"] == "ok", reply
    view.state("cam-side", seen.at, SEE_S, ok)
    assert abs(cab.rig_call("GET", "/camera/cam-side")["clock_skew_s"]) < 5
    summary.record("clock drift + time sync", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"])


def test_camera_hang_is_cleared_by_an_automatic_power_cycle(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.rig_call("PUT", "/camera/cam-exit/state/hung")  # answers nothing until its power is cut
    seen = view.state("cam-exit", injected, SEE_S, lambda s: s.get("state") == "offline")
    assert seen.json()["cause"] == "device"
    view.event("power_cycle_started", seen.at, SEE_S, device_id="cam-exit")
    view.event("power_cycle_done", seen.at, SEE_S, device_id="cam-exit")
    view.state("cam-exit", seen.at, SEE_S, ok)
    assert cab.rig_call("GET", "/camera/cam-exit")["power_cycles"] >= 1  # the relay really cut it
    summary.record("camera hang, auto power-cycle", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"])


def test_maintenance_window_books_the_outage_as_maintenance(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    reply = view.command("maintenance_start", duration_s=300, device_ids=["cam-side"], reason="HIL bench")
    assert reply["status"] == "ok", reply
    injected = time.monotonic()
    cab.rig_call("PUT", "/camera/cam-side/power/off")  # the technician unplugs it
    seen = view.state("cam-side", injected, SEE_S, lambda s: s.get("state") == "offline")
    cab.rig_call("PUT", "/camera/cam-side/power/on")
    view.state("cam-side", seen.at, SEE_S, ok)
    assert view.command("maintenance_end")["status"] == "ok"
    view.event("maintenance_ended", seen.at, SEE_S)
    assert seen.json()["cause"] == "maintenance"
    summary.record("maintenance window", injected, seen.at, GOAL_DEVICE_S, seen.json()["cause"])


def test_mains_loss_with_ups(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    mains(cab, present=False)
    seen = view.event("mains_lost", injected, SEE_S)
    outage = view.event("cabinet_outage_started", injected, SEE_S)
    mains(cab, present=True)
    view.event("cabinet_outage_ended", outage.at, SEE_S)
    assert seen.json()["cause"] == outage.json()["cause"] == "power_supply"
    assert not view.went_offline(injected, time.monotonic())  # the UPS carried the cabinet
    summary.record("mains loss, UPS carries", injected, seen.at, GOAL_CABINET_S, outage.json()["cause"])


def test_mains_loss_without_ups_is_attributed_after_restart(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    started = time.monotonic()
    mains(cab, present=False, ups_carries=False)
    view.event("mains_lost", started, SEE_S)  # the meter's last reading reached the agent
    injected = time.monotonic()
    # No UPS: the uplink router and the controller die at once. The uplink goes first, so the agent's
    # TCP connection is not closed by its kernel (a dead cabinet sends no FIN): the centre learns it
    # from the broker's keepalive, as it would in the field.
    cab.cut_uplink_silently()
    cab.kill_agent()
    cab.uplink_down()
    seen = view.status("offline", injected, SEE_S)  # the broker's last will
    mains(cab, present=True)
    cab.restore_uplink()
    back = restart_agent(cab, view)
    attributed = view.event("outage_attributed", back, SEE_S)
    assert attributed.json()["cause"] == "power_supply", attributed.json()
    _all_ok(view, back)
    summary.record("mains loss, no UPS", injected, seen.at, GOAL_CABINET_S, attributed.json()["cause"])


def test_agent_kill_9(cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    injected = time.monotonic()
    cab.kill_agent()
    seen = view.status("offline", injected, SEE_S)
    assert seen.json()["reason"] == "lost"
    back = restart_agent(cab, view)
    attributed = view.event("outage_attributed", back, SEE_S).json()
    assert attributed["cause"] != "power_supply", attributed  # the host kept running: a monitoring gap
    _all_ok(view, back)
    summary.record("agent kill -9", injected, seen.at, GOAL_CABINET_S, attributed["cause"] or "unknown")


def test_door_opened_without_maintenance(bench: Bench, cab: SimulatedCabinet, view: CabinetView) -> None:
    if bench.relay_board is None or bench.relay_board.door_input is None:
        pytest.skip(f"{bench.source.name}: no door input on the relay board (a GPIO door needs a relay "
                    "across the switch, docs/hil-bench.md)")  # fmt: skip
    summary = Summary(view)
    injected, injected_wall = time.monotonic(), datetime.now(UTC)
    cab.rig_call("PUT", "/door/open")  # no maintenance declared: the technician is not expected
    alarm = view.event("tamper_alarm", injected, SEE_S, severity="critical")
    opened = view.event("door_opened", injected, SEE_S)
    seen_wall = datetime.now(UTC)
    assert opened.json()["detail"] == {"maintenance": False} and alarm.json()["detail"] == {"door": "open"}
    raised = datetime.fromisoformat(alarm.json()["ts"])  # the agent's own clock, same host as this one
    assert injected_wall - timedelta(seconds=1) <= raised <= seen_wall + timedelta(seconds=1), raised
    cab.rig_call("PUT", "/door/closed")
    view.event("door_closed", alarm.at, SEE_S)
    summary.record("door opened, no maintenance", injected, alarm.at, GOAL_DEVICE_S, "tamper_alarm")


@pytest.mark.centre_wide
def test_broker_restart(sim_bench: SimulatedBench, cab: SimulatedCabinet, view: CabinetView) -> None:
    summary = Summary(view)
    sim_bench.stop_broker()
    cab.rig_call("PUT", "/camera/cam-entry/state/card_error")  # happens while the centre is away
    sim_bench.start_broker()
    injected = time.monotonic()
    seen = view.status("online", injected, SEE_S)  # the agent is back and said so
    view.state("cam-entry", injected, SEE_S, faulted("sd_error"))
    cab.rig_call("PUT", "/camera/cam-entry/state/healthy")
    view.state("cam-entry", seen.at, SEE_S, ok)
    assert not view.conflicting_ids()
    summary.record("broker restart (to online)", injected, seen.at, GOAL_CABINET_S, "-")


def _all_ok(view: CabinetView, since: float) -> None:
    for device_id in ("power-meter", "ups", "cam-entry", "cam-exit", "cam-side", "radar", "uplink"):
        view.state(device_id, since, SEE_S, ok)
