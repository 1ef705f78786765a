"""HTML of the duty room's pages (en, zh-CN), every value escaped; the fleet table is refreshed by
`static/fleet.js`, which builds the same rows with textContent."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from html import escape as e
from typing import Any
from urllib.parse import quote

from edge_agent.fleet.month import MonthReport
from edge_agent.fleet.render import percent

TEXT = {
    "en": {
        "title": "Fleet",
        "login": "Log in",
        "user": "User",
        "password": "Password",
        "logout": "Log out",
        "wrong": "Wrong user or password.",
        "locked": "Too many failures; try again later.",
        "cabinet": "Cabinet",
        "site": "Site",
        "state": "State",
        "cause": "Cause",
        "since": "Since",
        "down": "Devices not ok",
        "device": "Device",
        "faults": "Faults",
        "reason": "Reason",
        "kind": "Kind",
        "month": "Month",
        "contract": "Contract",
        "rate": "Online rate",
        "threshold": "Threshold",
        "penalty": "Penalty",
        "costing": "Devices that cost money",
        "fleet": "Fleet now",
    },
    "zh-CN": {
        "title": "设备总览",
        "login": "登录",
        "user": "用户",
        "password": "密码",
        "logout": "退出",
        "wrong": "用户名或密码错误。",
        "locked": "失败次数过多，请稍后再试。",
        "cabinet": "机柜",
        "site": "站点",
        "state": "状态",
        "cause": "原因",
        "since": "起始",
        "down": "异常设备",
        "device": "设备",
        "faults": "故障",
        "reason": "说明",
        "kind": "类型",
        "month": "月份",
        "contract": "合同",
        "rate": "在线率",
        "threshold": "考核线",
        "penalty": "扣款",
        "costing": "造成扣款的设备",
        "fleet": "实时总览",
    },
}


def _frame(lang: str, title: str, body: str, user: str = "", csrf: str = "") -> str:
    t = TEXT[lang]
    logout = (
        '<form method="post" action="/logout" class="logout">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f"<span>{e(user)}</span> <button>{e(t['logout'])}</button></form>"
        if user
        else ""
    )
    nav = (
        f'<nav><a href="/">{e(t["fleet"])}</a> <a href="/month">{e(t["month"])}</a> '
        '<a href="?lang=en">English</a> <a href="?lang=zh-CN">中文</a></nav>'
        if user
        else ""
    )
    return (
        f'<!doctype html><html lang="{e(lang)}"><head><meta charset="utf-8"><title>{e(title)}</title>'
        '<link rel="stylesheet" href="/static/fleet.css"><script src="/static/fleet.js" defer></script>'
        f"</head><body>{logout}{nav}<h1>{e(title)}</h1>{body}</body></html>"
    )


def login(lang: str, csrf: str, next_path: str, error: str) -> str:
    t = TEXT[lang]
    message = f'<p class="error">{e(t[error])}</p>' if error in ("wrong", "locked") else ""
    form = (
        f'{message}<form method="post" action="/login"><input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="next" value="{e(next_path)}">'
        f'<label>{e(t["user"])} <input name="user" autocomplete="username"></label> '
        f"<label>{e(t['password'])} "
        '<input name="password" type="password" autocomplete="current-password"></label> '
        f"<button>{e(t['login'])}</button></form>"
    )
    return _frame(lang, t["login"], form)


def _cabinet_rows(rows: Iterable[dict[str, Any]]) -> str:
    out = []
    for row in rows:
        down = "; ".join(f"{d['device_id']}: {d['state']}" + (f" ({d['cause']})" if d["cause"] else "")
                         for d in row["down"])  # fmt: skip
        out.append(
            f'<tr class="state-{e(row["state"])}" data-cabinet="{e(row["cabinet_id"])}">'
            f'<td><a href="/cabinet?id={quote(row["cabinet_id"])}">{e(row["cabinet_id"])}</a></td>'
            f'<td><a href="/site?name={quote(row["site"])}">{e(row["site"])}</a></td>'
            f'<td class="state">{e(row["state"])}</td><td>{e(row["cause"] or "-")}</td>'
            f"<td>{e(row['since'] or '-')}</td><td>{e(down or '-')}</td></tr>"
        )
    return "".join(out)


def _fleet_table(lang: str, rows: list[dict[str, Any]], site: str = "") -> str:
    t = TEXT[lang]
    head = "".join(f"<th>{e(t[k])}</th>" for k in ("cabinet", "site", "state", "cause", "since", "down"))
    return (
        f'<table id="fleet" data-site="{e(site)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{_cabinet_rows(rows)}</tbody></table>"
    )


def fleet(lang: str, user: str, csrf: str, rows: list[dict[str, Any]]) -> str:
    return _frame(lang, TEXT[lang]["fleet"], _fleet_table(lang, rows), user, csrf)


def site(lang: str, user: str, csrf: str, name: str, rows: list[dict[str, Any]]) -> str:
    return _frame(lang, f"{TEXT[lang]['site']}: {name}", _fleet_table(lang, rows, name), user, csrf)


def cabinet(lang: str, user: str, csrf: str, row: dict[str, Any]) -> str:
    t = TEXT[lang]
    head = "".join(
        f"<th>{e(t[k])}</th>" for k in ("device", "kind", "state", "cause", "since", "faults", "reason")
    )
    body = "".join(
        f'<tr class="state-{e(d["state"])}"><td>{e(d["device_id"])}</td><td>{e(d["kind"])}</td>'
        f"<td>{e(d['state'])}</td><td>{e(d['cause'] or '-')}</td><td>{e(d['since'])}</td>"
        f"<td>{e(', '.join(d['faults']) or '-')}</td><td>{e(d['reason'])}</td></tr>"
        for d in row["devices"]
    )
    presence = f"{row['site']} — {row['presence']} ({row['presence_since'] or '-'})"
    summary = f'<p class="state-{e(row["state"])}">{e(presence)}</p>'
    return _frame(
        lang,
        f"{t['cabinet']} {row['cabinet_id']}",
        f"{summary}<table><tr>{head}</tr>{body}</table>",
        user,
        csrf,
    )


def month(lang: str, user: str, csrf: str, month_text: str, reports: list[MonthReport]) -> str:
    t = TEXT[lang]
    parts = [
        f'<form method="get"><input name="month" value="{e(month_text)}"> '
        f"<button>{e(t['month'])}</button></form>"
    ]
    for report in reports:
        contract, penalty = report.contract, report.penalty
        amount = f"{penalty.amount} {penalty.currency}" if penalty else "-"
        costing = [
            d
            for d in report.devices
            if d.counted_offline_s > 0 and (d in report.under_threshold or contract.scope == "pool")
        ]
        rows = "".join(
            f"<tr><td>{e(d.site or '-')}</td><td>{e(d.cabinet_id)}</td><td>{e(d.device_id)}</td>"
            f"<td>{e(percent(d.rate))}</td></tr>"
            for d in costing
        )
        parts.append(
            f"<section><h2>{e(t['contract'])}: {e(contract.label(lang))}</h2><p>{e(t['threshold'])} "
            f"{e(percent(Fraction(contract.threshold)))} · {e(t['rate'])} {e(percent(report.pool_rate))} · "
            f"{e(t['penalty'])} <b>{e(amount)}</b></p><h3>{e(t['costing'])}</h3>"
            f"<table><tr><th>{e(t['site'])}</th><th>{e(t['cabinet'])}</th><th>{e(t['device'])}</th>"
            f"<th>{e(t['rate'])}</th></tr>{rows}</table></section>"
        )
    return _frame(lang, f"{t['month']} {month_text}", "".join(parts), user, csrf)
