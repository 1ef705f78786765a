"""The two 5-minute uplink scenarios (run concurrently on their own cabinets, see longrun.py)."""

from __future__ import annotations

import statistics

import pytest
from centre import GOAL_CABINET_S, GOAL_DEVICE_S, ROWS, Row
from longrun import FAULT_S, LongRun
from netbench import SimulatedBench
from test_scenarios import SEE_S, faulted, ok

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.mark.long_uplink("cut")
@pytest.mark.timeout(FAULT_S + 900)
def test_silent_uplink_cut_for_5_min(sim_bench: SimulatedBench, long_runs: dict[str, LongRun]) -> None:
    run = long_runs["cut"].result()
    assert run.view is not None
    view = run.view
    offline = view.status("offline", run.injected, SEE_S)  # the broker's last will: nothing else can say it
    view.status("online", run.restored, SEE_S)
    failed = view.state("cam-exit", run.injected, SEE_S, faulted("sd_error"))  # held by the outbox
    view.state("cam-exit", failed.at, SEE_S, ok)
    outage = view.maybe_event("cabinet_outage_started", run.injected, SEE_S)  # recorded in the cut, replayed
    cause = outage["cause"] if outage else "(no cabinet outage)"
    lost = view.lost_between(run.first_seq, view.last_seq())
    ROWS.append(Row("silent uplink cut 5 min", offline.at - run.injected, GOAL_CABINET_S, cause, lost))
    assert cause == "network_carrier", outage
    view.event("cabinet_outage_ended", run.injected, SEE_S)
    assert lost == 0
    assert not view.conflicting_ids()


@pytest.mark.long_uplink("lossy")
@pytest.mark.timeout(FAULT_S + 900)
def test_lossy_uplink_for_5_min_keeps_reporting(
    sim_bench: SimulatedBench, long_runs: dict[str, LongRun]
) -> None:
    run = long_runs["lossy"].result()
    assert run.view is not None
    view = run.view
    failed = view.state("cam-exit", run.injected, SEE_S, faulted("sd_error"))
    view.state("cam-exit", failed.at, SEE_S, ok)
    lost = view.lost_between(run.first_seq, view.last_seq())
    detected = failed.at - run.changed_at  # an SD card failing under the lossy uplink
    ROWS.append(Row("20 % loss + 300 ms RTT 5 min", detected, GOAL_DEVICE_S, failed.json()["cause"], lost))
    pings = f"median {statistics.median(run.pings):.2f} s, max {max(run.pings):.2f} s"
    print(f"ping round trips under loss: {pings}")
    assert not view.went_offline(run.injected, run.restored), "the cabinet dropped off at 20 % loss"
    assert lost == 0
    assert not view.conflicting_ids(), "a message arrived twice under different ids"
