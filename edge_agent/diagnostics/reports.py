"""Inspection reports on the page: daily reports when the agent has them, and a status snapshot.

Daily reports come from the agent's report source (`AgentView.reports`, see `ReportSource`) once the
cabinet produces them; until then the page says they are not available. The snapshot is the
current state of every device, always available, as CSV or JSON.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from edge_agent.diagnostics.views import ordered_devices
from edge_agent.readings import iso_ts, utc_now

if TYPE_CHECKING:
    from edge_agent.diagnostics.view import AgentView, ReportSource


def source_of(agent: AgentView) -> ReportSource | None:
    return agent.reports


def snapshot(agent: AgentView) -> dict[str, Any]:
    return {
        "generated": iso_ts(utc_now()),
        "agent": agent.agent_info(),
        "devices": ordered_devices(agent.live),
    }


def snapshot_csv(agent: AgentView) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["device_id", "name", "kind", "state", "since", "cause", "reason", "faults"])
    for tile in ordered_devices(agent.live):
        faults = "; ".join(f"{f['code']} ({f['severity']}): {f['message']}" for f in tile["faults"])
        row = [tile[key] or "" for key in ("device_id", "name", "kind", "state", "since", "cause", "reason")]
        writer.writerow([_cell(value) for value in [*row, faults]])
    return out.getvalue()


def flat_csv(document: dict[str, Any]) -> str:
    """Any nested report as `path,value` rows: readable in a spreadsheet whatever its shape."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["path", "value"])
    for path, value in _flatten(document, ""):
        writer.writerow([_cell(path), _cell(value)])
    return out.getvalue()


def _flatten(value: Any, prefix: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [
            row
            for key, item in value.items()
            for row in _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        ]
    if isinstance(value, list):
        return [row for index, item in enumerate(value) for row in _flatten(item, f"{prefix}[{index}]")]
    return [(prefix, value)]


def _cell(value: Any) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: a device name must not."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
