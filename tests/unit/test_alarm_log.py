"""The page's alarm log: rows open and close with faults and outages, carry the catalogue key and
the default cause, and keep the first acknowledgement."""

from __future__ import annotations

from edge_agent.diagnostics.alarms import AlarmLog
from edge_agent.health.tracker import ActiveFault, DeviceHealth
from edge_agent.readings import Fault, utc_now
from edge_agent.runtime.live_state import DeviceSnapshot


def _meter() -> DeviceSnapshot:
    return DeviceSnapshot("meter", "modbus", "Mains meter", DeviceHealth(state="ok", since=utc_now()))


def test_a_fault_that_came_and_went_keeps_its_row_with_the_catalogues_cause() -> None:
    log, meter = AlarmLog(), _meter()
    fault = Fault("mains_lost", "warning", "mains lost (0 V)")
    meter.health.faults["mains_lost"] = ActiveFault(fault, utc_now())
    log.observe(meter)
    log.observe(meter)  # still the same fault: no second row
    meter.health.faults.clear()
    log.observe(meter)
    [row] = log.rows()
    assert row["code"] == "mains_lost" and row["key"] == "mains_lost"
    assert row["cause"] == "power_supply"  # a warning has no outage cause: the catalogue's default
    assert row["cleared"] is not None


def test_an_outage_is_a_row_explained_by_its_failure_code() -> None:
    log, meter = AlarmLog(), _meter()
    meter.health.state, meter.health.cause, meter.health.error_code = "offline", "cabinet", "timeout"
    log.observe(meter)
    [row] = log.rows()
    assert (row["code"], row["key"], row["cause"], row["cleared"]) == ("offline", "timeout", "cabinet", None)
    meter.health.state = "ok"
    log.observe(meter)
    assert log.rows()[0]["cleared"] is not None


def test_the_first_acknowledgement_stays_and_the_log_is_bounded() -> None:
    log, meter = AlarmLog(limit=3), _meter()
    for n in range(5):
        meter.health.faults = {f"x{n}_high": ActiveFault(Fault(f"x{n}_high", "warning", "high"), utc_now())}
        log.observe(meter)
    rows = log.rows()
    assert [r["code"] for r in rows] == ["x4_high", "x3_high", "x2_high"]
    assert rows[0]["key"] == "*_high" and rows[0]["subject"] == "x4"
    assert log.acknowledge(rows[0]["id"], "li.wei") is not None
    log.acknowledge(rows[0]["id"], "someone.else")
    assert log.rows()[0]["acked_by"] == "li.wei"
    assert log.acknowledge(999, "li.wei") is None
