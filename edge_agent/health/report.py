"""The daily inspection report (巡检台账): build it from the ledger, keep it on disk, export it.

One report per local day, made at `health.report_time` for the day before and on demand. Per
device: state now, the day's and the month-to-date seconds per state and offline seconds per
cause, online rate per contract rule, faults raised/cleared during the day, replacement
recommendations, and the inspection figures the device publishes (SD card, retention, clock
drift, link latency/loss). Files: `<data_dir>/reports/<day>.json` and `<day>.csv`, kept
`health.report_keep_days` (default 400) days.
"""

from __future__ import annotations

import io
import json
import time as clock
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.health.days import day_start, month_days
from edge_agent.health.ledger import Ledger, Totals
from edge_agent.health.rate import online_rate
from edge_agent.readings import CAUSES, Value

# Telemetry names an inspector reads; any device that publishes them has them in its report line.
INSPECTION_VALUES = (
    "sd_state", "sd_used_percent", "sd_nominal_gb", "retention_days", "recording_age_s",
    "clock_drift_s", "onvif_rtt_ms", "broker_rtt_ms", "gateway_rtt_ms", "loss_percent",
    "uplink_up", "lan_up", "mains_present",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeviceNow:
    """What the report needs of a device's live state (`live.DeviceSnapshot` provides it)."""

    device_id: str
    kind: str
    state: str
    cause: str | None
    faults_active: list[str]
    values: Mapping[str, Value]


def build_report(
    ledger: Ledger,
    *,
    cabinet_id: str,
    day: date,
    now: float,
    devices: Iterable[DeviceNow],
    excluded_causes: list[str],
    replace_recommended: Mapping[str, set[str]],
    timezone: str,
    unknown_time: str = "online",
) -> dict[str, Any]:
    """The report as the `report/daily` payload's fields (without id and seq)."""
    start, end = day_start(day, ledger.tz), day_start(day + timedelta(days=1), ledger.tz)
    faults = ledger.fault_events(start, end)
    first, last = month_days(day)
    lines = []
    known = {device.device_id: device for device in devices}
    for device in known.values():
        day_totals = ledger.totals(device.device_id, day.isoformat(), day.isoformat(), now=now)
        month_totals = ledger.totals(device.device_id, first.isoformat(), last.isoformat(), now=now)
        lines.append(
            {
                "device_id": device.device_id,
                "kind": device.kind,
                "state": device.state,
                "cause": device.cause,
                "day": _seconds(day_totals, excluded_causes, unknown_time),
                "month": _seconds(month_totals, excluded_causes, unknown_time),
                "faults_raised": sorted(
                    {c for d, c, e, _ in faults if d == device.device_id and e == "raised"}
                ),
                "faults_cleared": sorted(
                    {c for d, c, e, _ in faults if d == device.device_id and e == "cleared"}
                ),
                "faults_active": sorted(device.faults_active),
                "replace_recommended": sorted(replace_recommended.get(device.device_id, set())),
                "values": {name: device.values[name] for name in INSPECTION_VALUES if name in device.values},
            }
        )
    return {
        "cabinet_id": cabinet_id,
        "day": day.isoformat(),
        "timezone": timezone,
        "excluded_causes": list(excluded_causes),
        "unknown_time": unknown_time,
        "devices": lines,
    }


def next_report_time(after: float, report_time: time, tz: ZoneInfo) -> float:
    """The first local `report_time` strictly after `after` (epoch seconds)."""
    local = datetime.fromtimestamp(after, tz)
    moment = datetime.combine(local.date(), report_time, tz)
    if moment.timestamp() <= after:
        moment = datetime.combine(local.date() + timedelta(days=1), report_time, tz)
    return moment.timestamp()


def _seconds(totals: Totals, excluded_causes: list[str], unknown_time: str) -> dict[str, Any]:
    return {
        "state_s": {state: round(seconds, 1) for state, seconds in sorted(totals.state_s.items())},
        "offline_cause_s": {cause: round(s, 1) for cause, s in sorted(totals.offline_cause_s.items())},
        "online_rate": _round(online_rate(totals, excluded_causes, unknown_time=unknown_time)),
    }


def _round(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 6)


# --- on disk ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "day", "device_id", "kind", "state_now", "online_rate_day", "online_rate_month", "offline_s_day",
    "power_supply_s", "network_carrier_s", "cabinet_s", "device_s", "maintenance_s", "unknown_s",
    "faults_raised", "faults_cleared", "faults_active", "replace_recommended", "values",
)  # fmt: skip


def to_csv(report: Mapping[str, Any]) -> str:
    """One line per device; causes are the day's offline seconds."""
    import csv  # on the first report, not at start: a cabinet agent needs it once a day (RSS)

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for line in report["devices"]:
        causes = line["day"]["offline_cause_s"]
        writer.writerow(
            [
                report["day"], line["device_id"], line["kind"], line["state"],
                line["day"]["online_rate"], line["month"]["online_rate"],
                line["day"]["state_s"].get("offline", 0),
                *(causes.get(cause, 0) for cause in CAUSES),
                " ".join(line["faults_raised"]), " ".join(line["faults_cleared"]),
                " ".join(line["faults_active"]), " ".join(line["replace_recommended"]),
                json.dumps(line["values"], sort_keys=True),
            ]
        )  # fmt: skip
    return out.getvalue()


def save_report(
    directory: Path, report: Mapping[str, Any], *, keep_days: int, now: float | None = None
) -> Path:
    """Write `<day>.json` and `<day>.csv` (atomically), then delete reports older than `keep_days`."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{report['day']}.json"
    _atomic_write(path, json.dumps(report, indent=1, ensure_ascii=False, sort_keys=True))
    _atomic_write(directory / f"{report['day']}.csv", to_csv(report))
    _prune(directory, keep_days, clock.time() if now is None else now)
    return path


def load_report(directory: Path, day: str) -> dict[str, Any] | None:
    path = directory / f"{day}.json"
    if not path.exists():
        return None
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _atomic_write(path: Path, text: str) -> None:
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _prune(directory: Path, keep_days: int, now: float) -> None:
    oldest = date.fromtimestamp(now) - timedelta(days=keep_days)
    for path in [*directory.glob("*.json"), *directory.glob("*.csv")]:
        try:
            day = date.fromisoformat(path.stem)
        except ValueError:
            continue
        if day < oldest:
            path.unlink()
