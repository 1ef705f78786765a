"""`edge-agent audit verify` and `edge-agent report`: read the data dir of a (stopped or running) agent."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from pathlib import Path

from edge_agent.audit import verify_log
from edge_agent.config import AgentConfig
from edge_agent.health.ledger import Ledger
from edge_agent.health.report import DeviceNow, build_report, load_report, to_csv


def audit_verify(config: AgentConfig) -> int:
    """Print every problem of the audit chain; exit 0 when intact, 1 when not."""
    directory = config.storage.data_dir / "audit"
    result = verify_log(directory)
    for problem in result.problems:
        print(problem, file=sys.stderr)
    verdict = "intact" if result.ok else f"TAMPERED OR DAMAGED: {len(result.problems)} problem(s)"
    print(f"{directory}: {result.records} record(s), chain {verdict}")
    return 0 if result.ok else 1


def report(config: AgentConfig, day: str | None, output_format: str) -> int:
    """Print a day's report: the saved one, or else one built from the ledger (without live state)."""
    health = config.health
    wanted = date.fromisoformat(day) if day else datetime.now(health.tz).date()
    document = load_report(config.storage.data_dir / "reports", wanted.isoformat())
    if document is None:
        document = _from_ledger(config, wanted)
    if output_format == "csv":
        sys.stdout.write(to_csv(document))
    else:
        print(json.dumps(document, indent=1, ensure_ascii=False, sort_keys=True))
    return 0


def _from_ledger(config: AgentConfig, day: date) -> dict[str, object]:
    path: Path = config.storage.data_dir / "ledger.sqlite3"
    ledger = Ledger(path, config.health.tz)
    try:
        kinds = {device.device_id: device.type for device in config.devices}
        devices = [
            DeviceNow(device_id, kinds.get(device_id, "cabinet"), "unknown", None, [], {})
            for device_id in ledger.devices()
        ]
        return build_report(
            ledger,
            cabinet_id=config.cabinet.id,
            day=day,
            now=datetime.now().timestamp(),
            devices=devices,
            excluded_causes=list(config.health.excluded_causes),
            replace_recommended={},
            timezone=config.health.timezone,
        )
    finally:
        ledger.close()
