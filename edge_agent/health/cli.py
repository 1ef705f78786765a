"""`edge-agent audit verify` and `edge-agent report`: read the data dir of a (stopped or running) agent."""

from __future__ import annotations

import json
import secrets
import sys
from datetime import date, datetime
from typing import Any

from edge_agent.audit import MARK, verify_log
from edge_agent.config import AgentConfig
from edge_agent.health.core import HealthCore
from edge_agent.health.report import DeviceNow, build_report, to_csv

ASK_TIMEOUT_S = 30.0


def audit_verify(config: AgentConfig) -> int:
    """Print every problem of the audit chain; exit 0 when intact, 1 when not."""
    directory = config.storage.data_dir / "audit"
    key = config.audit.key.get_secret_value().encode() if config.audit.key else None
    result = verify_log(directory, key=key, mark_path=config.storage.data_dir / MARK)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    verdict = "intact" if result.ok else f"TAMPERED OR DAMAGED: {len(result.problems)} problem(s)"
    print(f"{directory}: {result.records} record(s), chain {verdict}")
    return 0 if result.ok else 1


def report(config: AgentConfig, day: str | None, output_format: str) -> int:
    """Print a day's report built now: by the running agent (the very report the `report_daily`
    command and the page give), or, with no agent running, from the ledger alone."""
    health = config.health
    wanted = date.fromisoformat(day) if day else datetime.now(health.tz).date()
    document = _from_agent(config, wanted)
    if document is None:
        document = _from_ledger(config, wanted)
    if output_format == "csv":
        sys.stdout.write(to_csv(document))
    else:
        print(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True))
    return 0


def _from_agent(config: AgentConfig, day: date) -> dict[str, Any] | None:
    """The running agent's report through its local socket; None when no agent answers there."""
    from edge_agent.local.command_client import ask
    from edge_agent.local.command_socket import SOCKET_NAME

    request = {
        "command": "report_daily",
        "transaction": f"cli-{secrets.token_hex(6)}",
        "args": {"day": day.isoformat(), "publish": False},
    }
    try:
        reply = ask(config.storage.data_dir / SOCKET_NAME, request, ASK_TIMEOUT_S)
    except (OSError, ValueError):
        return None
    data = reply.get("data")
    if reply.get("status") != "ok" or not isinstance(data, dict):
        print(f"edge-agent report: the agent refused: {reply.get('error')}", file=sys.stderr)
        return None
    return data


def _from_ledger(config: AgentConfig, day: date) -> dict[str, Any]:
    """No agent running: states are `unknown` (nobody watches), faults and recommendations come
    from the ledger's open episodes and fault log, live values are absent."""
    print("edge-agent report: no agent running here; report from the ledger alone", file=sys.stderr)
    core = HealthCore(config.storage.data_dir, config.health, boot_id="report")
    ledger = core.ledger
    try:
        now = datetime.now().timestamp()
        events = ledger.fault_events(now - core.repeat.window_s, now, counting_only=True)
        replace: dict[str, set[str]] = {}
        for device_id, code in core.repeat.replay(events):
            replace.setdefault(device_id, set()).add(code)
        active = core.active_faults()
        kinds = {device.device_id: device.type for device in config.devices}
        devices = [
            DeviceNow(d, kinds.get(d, "cabinet"), "unknown", None, active.get(d, []), {})
            for d in ledger.devices()
        ]
        return build_report(
            ledger,
            cabinet_id=config.cabinet.id,
            day=day,
            now=now,
            devices=devices,
            excluded_causes=list(config.health.excluded_causes),
            replace_recommended=replace,
            timezone=config.health.timezone,
            unknown_time=config.health.unknown_time,
        )
    finally:
        ledger.close()
