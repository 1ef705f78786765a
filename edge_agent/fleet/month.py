"""The month as a contract counts it, from the cabinets' daily reports in the centre's database.

Evidence: each cabinet's `report/daily` carries per device the seconds per state and the offline
seconds per cause of the day, computed at the cabinet from its availability ledger (exact: an
outage is booked from the first failed poll). The month of a device is the sum of its days; a day
no report covers (from the first day the device appears in the month to the month's last day, or
yesterday while the month runs) counts as `unknown` time, which the contract's `unknown_time`
rule turns into online, offline or nothing. Rates are fractions: exact, rounded only for display.

    online rate = (scheduled - offline) / (scheduled - offline with an excluded cause)
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from edge_agent.fleet.contracts import Contract
from edge_agent.fleet.links import LinkOutage, link_outages
from edge_agent.fleet.penalty import PenaltyResult, penalty
from edge_agent.fleet.store import Store
from edge_agent.mqtt.payloads import DailyReportPayload, ReportDevice
from edge_agent.mqtt.reading import read_payload


class MonthError(ValueError):
    """The month asked for is not a month (YYYY-MM)."""


@dataclass
class DeviceMonth:
    cabinet_id: str
    site: str | None
    device_id: str
    kind: str
    state_s: dict[str, Fraction] = field(default_factory=lambda: defaultdict(Fraction))
    cause_s: dict[str, Fraction] = field(default_factory=lambda: defaultdict(Fraction))
    days: set[str] = field(default_factory=set)  # days a report covers
    days_missing: int = 0
    replace_recommended: set[str] = field(default_factory=set)
    online_s: Fraction = Fraction(0)
    denominator_s: Fraction = Fraction(0)

    @property
    def rate(self) -> Fraction | None:
        return self.online_s / self.denominator_s if self.denominator_s > 0 else None

    @property
    def counted_offline_s(self) -> Fraction:
        """Offline seconds that count against the rate (denominator minus online)."""
        return self.denominator_s - self.online_s


@dataclass(frozen=True, slots=True)
class LedgerRow:
    cabinet_id: str
    day: str
    devices: int
    not_ok: list[str]
    faults_raised: list[str]
    replace_recommended: list[str]


@dataclass
class MonthReport:
    contract: Contract
    month: str
    devices: list[DeviceMonth]
    ledger: list[LedgerRow]
    outages: list[LinkOutage]
    penalty: PenaltyResult | None = None

    @property
    def pool_rate(self) -> Fraction | None:
        denominator = sum((d.denominator_s for d in self.devices), Fraction(0))
        return sum((d.online_s for d in self.devices), Fraction(0)) / denominator if denominator else None

    @property
    def under_threshold(self) -> list[DeviceMonth]:
        limit = Fraction(self.contract.threshold)
        return [d for d in self.devices if d.rate is not None and d.rate < limit]

    def sites(self) -> dict[str, list[DeviceMonth]]:
        grouped: dict[str, list[DeviceMonth]] = defaultdict(list)
        for device in self.devices:
            grouped[device.site or "-"].append(device)
        return dict(sorted(grouped.items()))


def month_bounds(month: str) -> tuple[date, date]:
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise MonthError(f"not a month (YYYY-MM): {month!r}")
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError as exc:
        raise MonthError(f"not a month (YYYY-MM): {month!r}") from exc
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def month_report(store: Store, month: str, contract: Contract, *, today: date | None = None) -> MonthReport:
    """The month of every device the contract counts, with its penalty; `today` bounds a running month."""
    first, last = month_bounds(month)
    today = today or datetime.now().date()
    covered_to = min(last, today - timedelta(days=1))
    devices: dict[tuple[str, str], DeviceMonth] = {}
    ledger: list[LedgerRow] = []
    zones: dict[str, ZoneInfo] = {}
    for cabinet_id, site, report in _reports(store, first, last):
        zones[cabinet_id] = ZoneInfo(report.timezone)
        ledger.append(_ledger_row(cabinet_id, report))
        for line in report.devices:
            if contract.devices.counts(line.kind, line.device_id, site):
                key = (cabinet_id, line.device_id)
                device = devices.setdefault(key, DeviceMonth(cabinet_id, site, line.device_id, line.kind))
                _add_day(device, report.day, line)
    for (cabinet_id, _), device in devices.items():
        _add_missing_days(device, covered_to, zones[cabinet_id])
        _apply_rules(device, contract)
    ordered = sorted(devices.values(), key=lambda d: (d.site or "", d.cabinet_id, d.device_id))
    outages = link_outages(store, contract, first, last, zones) if contract.link_outages else []
    result = MonthReport(contract, month, ordered, ledger, outages)
    result.penalty = penalty(result)
    return result


def _reports(store: Store, first: date, last: date) -> list[tuple[str, str | None, DailyReportPayload]]:
    rows = store.query(
        "SELECT r.cabinet_id, c.site, m.payload FROM report r JOIN message m ON m.id = r.id "
        "LEFT JOIN cabinet c ON c.cabinet_id = r.cabinet_id WHERE r.day BETWEEN ? AND ? "
        "ORDER BY r.cabinet_id, r.day",
        (first.isoformat(), last.isoformat()),
    )
    return [
        (cabinet, site, read_payload(DailyReportPayload, json.loads(text))) for cabinet, site, text in rows
    ]


def _add_day(device: DeviceMonth, day: str, line: ReportDevice) -> None:
    for state, seconds in line.day.state_s.items():
        device.state_s[state] += Fraction(str(seconds))
    for cause, seconds in line.day.offline_cause_s.items():
        device.cause_s[cause] += Fraction(str(seconds))
    device.days.add(day)
    device.replace_recommended.update(line.replace_recommended)


def _add_missing_days(device: DeviceMonth, last: date, zone: ZoneInfo) -> None:
    """Days from the device's first report in the month to `last` that no report covers: unknown."""
    day = min(date.fromisoformat(d) for d in device.days)
    while day <= last:
        if day.isoformat() not in device.days:
            device.state_s["unknown"] += _day_seconds(day, zone)
            device.days_missing += 1
        day += timedelta(days=1)


def _day_seconds(day: date, zone: ZoneInfo) -> Fraction:
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return Fraction(int(end.timestamp() - start.timestamp()))


def _apply_rules(device: DeviceMonth, contract: Contract) -> None:
    unknown = device.state_s.get("unknown", Fraction(0))
    scheduled = sum(device.state_s.values(), Fraction(0))
    offline = device.state_s.get("offline", Fraction(0))
    if contract.unknown_time == "offline" and unknown:
        offline += unknown
        device.cause_s["unknown"] += unknown
    elif contract.unknown_time == "excluded":
        scheduled -= unknown
    excluded = sum((device.cause_s.get(c, Fraction(0)) for c in set(contract.excluded_causes)), Fraction(0))
    device.online_s = scheduled - offline
    device.denominator_s = scheduled - excluded


def _ledger_row(cabinet_id: str, report: DailyReportPayload) -> LedgerRow:
    return LedgerRow(
        cabinet_id,
        report.day,
        len(report.devices),
        sorted(f"{d.device_id}:{d.state}" for d in report.devices if d.state != "ok"),
        sorted(f"{d.device_id}:{code}" for d in report.devices for code in d.faults_raised),
        sorted(f"{d.device_id}:{code}" for d in report.devices for code in d.replace_recommended),
    )
