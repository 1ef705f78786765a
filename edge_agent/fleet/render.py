"""The month report as a terminal table, CSV, JSON or a printable HTML page (en, zh-CN).

Rates are shown in percent with 3 decimals (the exact fraction is in JSON as `rate_exact`);
money as the exact decimal the rule computed.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from edge_agent.fleet.month import DeviceMonth, MonthReport

TEXT = {
    "en": {
        "title": "Monthly contract report",
        "contract": "Contract",
        "threshold": "threshold",
        "pool": "pooled rate",
        "penalty": "Penalty",
        "site": "Site",
        "cabinet": "Cabinet",
        "device": "Device",
        "kind": "Kind",
        "rate": "Online rate",
        "outage": "Outage minutes by cause",
        "under": "Devices under the threshold",
        "replace": "Replacements due (repeat faults)",
        "ledger": "Daily inspection ledger",
        "day": "Day",
        "devices": "Devices",
        "not_ok": "Not ok",
        "faults": "Faults raised",
        "links": "Link outages",
        "start": "Start",
        "end": "End",
        "repair": "Repair (min)",
        "cause": "Cause",
        "missing": "Days without report",
        "none": "none",
        "open": "open",
        "sites": "Sites",
    },
    "zh-CN": {
        "title": "月度合同考核报表",
        "contract": "合同",
        "threshold": "考核线",
        "pool": "总在线率",
        "penalty": "扣款",
        "site": "站点",
        "cabinet": "机柜",
        "device": "设备",
        "kind": "类型",
        "rate": "在线率",
        "outage": "按原因的离线分钟",
        "under": "未达标设备",
        "replace": "应更换设备（重复故障）",
        "ledger": "每日巡检台账",
        "day": "日期",
        "devices": "设备数",
        "not_ok": "异常",
        "faults": "新增故障",
        "links": "链路中断",
        "start": "开始",
        "end": "结束",
        "repair": "修复时长（分钟）",
        "cause": "原因",
        "missing": "无报告天数",
        "none": "无",
        "open": "未恢复",
        "sites": "站点",
    },
}


def percent(rate: Fraction | None) -> str:
    return "-" if rate is None else f"{float(rate * 100):.3f} %"


def minutes(seconds: Fraction) -> str:
    return f"{float(seconds / 60):.1f}"


def render(reports: list[MonthReport], fmt: str, lang: str) -> str:
    if fmt == "json":
        return json.dumps([as_dict(r) for r in reports], ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return _csv(reports)
    if fmt == "html":
        return _html(reports, TEXT[lang], lang)
    return "\n".join(_table(r, TEXT[lang], lang) for r in reports)


def as_dict(report: MonthReport) -> dict[str, Any]:
    penalty = report.penalty
    return {
        "contract": report.contract.name,
        "month": report.month,
        "threshold": str(report.contract.threshold),
        "pool_rate": _num(report.pool_rate),
        "pool_rate_exact": _exact(report.pool_rate),
        "penalty": None
        if penalty is None
        else {
            "amount": str(penalty.amount),
            "currency": penalty.currency,
            "units": penalty.units,
            "detail": penalty.detail,
        },
        "devices": [_device_dict(d) for d in report.devices],
        "under_threshold": [f"{d.cabinet_id}/{d.device_id}" for d in report.under_threshold],
        "sites": {site: _num(_pool(devices)) for site, devices in report.sites().items()},
        "outages": [
            {
                "cabinet_id": o.cabinet_id,
                "device_id": o.device_id,
                "cause": o.cause,
                "start": o.start.isoformat(),
                "end": o.end.isoformat() if o.end else None,
                "repair_s": o.repair_s,
            }
            for o in report.outages
        ],
    }


def _device_dict(device: DeviceMonth) -> dict[str, Any]:
    return {
        "cabinet_id": device.cabinet_id,
        "site": device.site,
        "device_id": device.device_id,
        "kind": device.kind,
        "rate": _num(device.rate),
        "rate_exact": _exact(device.rate),
        "offline_minutes": {c: float(s / 60) for c, s in sorted(device.cause_s.items()) if s},
        "days_missing": device.days_missing,
        "replace_recommended": sorted(device.replace_recommended),
    }


def _num(rate: Fraction | None) -> float | None:
    return None if rate is None else float(rate)


def _exact(rate: Fraction | None) -> str | None:
    return None if rate is None else f"{rate.numerator}/{rate.denominator}"


def _table(report: MonthReport, t: dict[str, str], lang: str) -> str:
    contract, penalty = report.contract, report.penalty
    lines = [
        f"{t['contract']}: {contract.label(lang)} ({contract.name}) {report.month}  "
        f"{t['threshold']} {percent(Fraction(contract.threshold))}  {t['pool']} {percent(report.pool_rate)}",
    ]
    if penalty is not None:
        lines.append(f"{t['penalty']}: {penalty.amount} {penalty.currency}  ({penalty.detail})")
    lines.append(f"{t['site']:<20} {t['cabinet']:<14} {t['device']:<16} {t['rate']:>10}  {t['outage']}")
    for device in report.devices:
        causes = " ".join(f"{c}={minutes(s)}" for c, s in sorted(device.cause_s.items()) if s) or "-"
        mark = " *" if device in report.under_threshold else ""
        lines.append(
            f"{(device.site or '-')[:20]:<20} {device.cabinet_id:<14} {device.device_id:<16} "
            f"{percent(device.rate):>10}  {causes}{mark}"
        )
    for title, rows in _extra_sections(report, t):
        lines.append(f"{title}:")
        lines.extend("  " + "  ".join(row) for row in rows)
    return "\n".join(lines) + "\n"


def _extra_sections(report: MonthReport, t: dict[str, str]) -> Iterator[tuple[str, list[list[str]]]]:
    yield t["sites"], [[site, percent(_pool(devices))] for site, devices in report.sites().items()]
    yield t["under"], [[f"{d.cabinet_id}/{d.device_id}", percent(d.rate)] for d in report.under_threshold]
    yield (
        t["replace"],
        [
            [f"{d.cabinet_id}/{d.device_id}", ",".join(sorted(d.replace_recommended))]
            for d in report.devices
            if d.replace_recommended
        ],
    )
    if report.contract.link_outages:
        yield (
            t["links"],
            [
                [
                    f"{o.cabinet_id}/{o.device_id}",
                    o.cause,
                    f"{o.start:%m-%d %H:%M}",
                    f"{o.end:%m-%d %H:%M}" if o.end else t["open"],
                    "-" if o.repair_s is None else f"{o.repair_s / 60:.1f}",
                ]
                for o in report.outages
            ],
        )
    yield (
        t["ledger"],
        [
            [
                row.cabinet_id,
                row.day,
                str(row.devices),
                ",".join(row.not_ok) or "-",
                ",".join(row.faults_raised) or "-",
            ]
            for row in report.ledger
        ],
    )


def _pool(devices: list[DeviceMonth]) -> Fraction | None:
    denominator = sum((d.denominator_s for d in devices), Fraction(0))
    return sum((d.online_s for d in devices), Fraction(0)) / denominator if denominator else None


def _csv(reports: list[MonthReport]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "contract",
            "month",
            "site",
            "cabinet_id",
            "device_id",
            "kind",
            "online_rate",
            "under_threshold",
            "days_missing",
            "offline_min_by_cause",
            "replace_recommended",
        ]
    )
    for report in reports:
        for d in report.devices:
            causes = ";".join(f"{c}={minutes(s)}" for c, s in sorted(d.cause_s.items()) if s)
            writer.writerow(
                [
                    report.contract.name,
                    report.month,
                    d.site or "",
                    d.cabinet_id,
                    d.device_id,
                    d.kind,
                    "" if d.rate is None else f"{float(d.rate):.6f}",
                    int(d in report.under_threshold),
                    d.days_missing,
                    causes,
                    ";".join(sorted(d.replace_recommended)),
                ]
            )
        for site, devices in report.sites().items():
            rate = _pool(devices)
            rate_text = "" if rate is None else f"{float(rate):.6f}"
            writer.writerow([report.contract.name, report.month, site, "", "", "site", rate_text] + [""] * 4)
        if report.penalty is not None:
            writer.writerow(
                [
                    report.contract.name,
                    report.month,
                    "",
                    "",
                    "",
                    "penalty",
                    "" if report.pool_rate is None else f"{float(report.pool_rate):.6f}",
                    "",
                    "",
                    f"{report.penalty.amount} {report.penalty.currency}",
                    report.penalty.detail,
                ]
            )
    return out.getvalue()


def _html(reports: list[MonthReport], t: dict[str, str], lang: str) -> str:
    e = html.escape
    parts = [
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(t["title"])}</title>',
        "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin:.5em 0 1.5em}"
        "td,th{border:1px solid #999;padding:2px 6px;font-size:12px}tr.under td{background:#fdd}"
        "@media print{section{page-break-after:always}}</style></head><body>",
        f"<h1>{e(t['title'])}</h1>",
    ]
    for report in reports:
        parts.append(_html_section(report, t, lang))
    parts.append("</body></html>\n")
    return "".join(parts)


def _html_section(report: MonthReport, t: dict[str, str], lang: str) -> str:
    e = html.escape
    contract, penalty = report.contract, report.penalty
    head = (
        f"<section><h2>{e(t['contract'])}: {e(contract.label(lang))} — {e(report.month)}</h2>"
        f"<p>{e(t['threshold'])} {e(percent(Fraction(contract.threshold)))}; {e(t['pool'])} "
        f"{e(percent(report.pool_rate))}</p>"
    )
    if penalty is not None:
        amount = f"{penalty.amount} {penalty.currency}"
        head += f"<p><b>{e(t['penalty'])}: {e(amount)}</b> ({e(penalty.detail)})</p>"
    rows = "".join(
        f'<tr class="{"under" if d in report.under_threshold else ""}"><td>{e(d.site or "-")}</td>'
        f"<td>{e(d.cabinet_id)}</td><td>{e(d.device_id)}</td><td>{e(d.kind)}</td><td>{e(percent(d.rate))}</td>"
        f"<td>{e(' '.join(f'{c}={minutes(s)}' for c, s in sorted(d.cause_s.items()) if s) or '-')}</td>"
        f"<td>{d.days_missing}</td></tr>"
        for d in report.devices
    )
    table = (
        f"<table><tr><th>{e(t['site'])}</th><th>{e(t['cabinet'])}</th><th>{e(t['device'])}</th>"
        f"<th>{e(t['kind'])}</th><th>{e(t['rate'])}</th><th>{e(t['outage'])}</th><th>{e(t['missing'])}</th></tr>"
        f"{rows}</table>"
    )
    extra = "".join(
        f"<h3>{e(title)}</h3>"
        + (
            "<table>"
            + "".join("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body)
            + "</table>"
            if body
            else f"<p>{e(t['none'])}</p>"
        )
        for title, body in _extra_sections(report, t)
    )
    return head + table + extra + "</section>"
