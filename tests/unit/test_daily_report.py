"""The daily report: from the ledger, valid against the contract, CSV and JSON on disk, pruned."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema
import pytest

from edge_agent.health.days import day_start
from edge_agent.health.ledger import Ledger
from edge_agent.health.report import DeviceNow, build_report, load_report, save_report, to_csv
from edge_agent.mqtt.payloads import json_schema

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)


def _report(tmp_path: Path) -> dict[str, object]:
    ledger = Ledger(tmp_path / "ledger.sqlite3", TZ)
    start = day_start(DAY, TZ)
    ledger.transition("cam1", "ok", None, start)
    ledger.transition("cam1", "offline", "device", start + 3600)
    ledger.transition("cam1", "ok", None, start + 5400)
    ledger.log_fault("cam1", "sd_error", "raised", start + 100)
    ledger.log_fault("cam1", "sd_error", "cleared", start + 200)
    camera = DeviceNow(
        "cam1", "onvif_camera", "ok", None, [], {"sd_used_percent": 97.5, "clock_drift_s": 0.4, "x": 1}
    )
    return build_report(
        ledger,
        cabinet_id="cab-1",
        day=DAY,
        now=start + 86400,
        devices=[camera],
        excluded_causes=["power_supply", "network_carrier"],
        replace_recommended={"cam1": {"sd_error"}},
        timezone="Asia/Shanghai",
    )


def test_report_figures_and_contract(tmp_path: Path) -> None:
    report = _report(tmp_path)
    line = report["devices"][0]  # type: ignore[index]  # a JSON document, typed as Any-valued
    assert line["day"]["offline_cause_s"] == {"device": 1800.0}
    assert line["day"]["online_rate"] == round(1 - 1800 / 86400, 6)
    assert line["faults_raised"] == ["sd_error"] and line["faults_cleared"] == ["sd_error"]
    assert line["values"] == {"sd_used_percent": 97.5, "clock_drift_s": 0.4}  # inspection figures only
    jsonschema.validate(
        {**report, "id": "r" * 16, "seq": 1, "ts": "2026-11-21T00:05:00.000Z"}, json_schema("report-daily")
    )


def test_report_on_disk_as_json_and_csv_and_pruned(tmp_path: Path) -> None:
    report = _report(tmp_path)
    directory = tmp_path / "reports"
    save_report(directory, report, keep_days=400, now=day_start(DAY, TZ))
    assert load_report(directory, "2026-11-20") == report
    rows = list(csv.DictReader(io.StringIO((directory / "2026-11-20.csv").read_text())))
    assert rows[0]["device_id"] == "cam1" and float(rows[0]["device_s"]) == 1800.0
    assert to_csv(report).splitlines()[0].startswith("day,device_id")
    save_report(
        directory, {**report, "day": "2027-12-30"}, keep_days=400, now=day_start(date(2027, 12, 30), TZ)
    )
    assert load_report(directory, "2026-11-20") is None  # older than 400 days
    assert load_report(directory, "2027-12-30") is not None


def test_next_report_time_is_the_next_local_report_time() -> None:
    from datetime import datetime, time

    from edge_agent.health.report import next_report_time

    five_past = time(0, 5)
    before = datetime(2026, 11, 20, 0, 4, tzinfo=TZ).timestamp()
    assert next_report_time(before, five_past, TZ) == datetime(2026, 11, 20, 0, 5, tzinfo=TZ).timestamp()
    at = datetime(2026, 11, 20, 0, 5, tzinfo=TZ).timestamp()
    assert next_report_time(at, five_past, TZ) == datetime(2026, 11, 21, 0, 5, tzinfo=TZ).timestamp()


def test_unknown_seconds_follow_the_contracts_rule() -> None:
    from edge_agent.health.ledger import Totals
    from edge_agent.health.rate import online_rate

    totals = Totals({"ok": 80.0, "unknown": 10.0, "offline": 10.0}, {"device": 10.0})
    assert online_rate(totals, []) == pytest.approx(0.9)  # unknown counted as online (default)
    assert online_rate(totals, [], unknown_time="excluded") == pytest.approx(80 / 90)
