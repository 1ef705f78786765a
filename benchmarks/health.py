"""Cabinet health figures: scripted-month replay time, SD writes of the heartbeat, audit append and verify.

`python benchmarks/health.py [--records N]`. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from edge_agent.audit import AuditLog, verify_log
from edge_agent.health.config import HealthConfig
from edge_agent.health.core import HealthCore


def month_replay(directory: Path) -> dict[str, float]:
    from unit.test_scripted_month import SimulatedAgent, play, script

    started = time.perf_counter()
    agent = SimulatedAgent(directory)
    play(agent, script())
    return {
        "wall_s": time.perf_counter() - started,
        "ledger_kib": (directory / "ledger.sqlite3").stat().st_size / 1024,
    }


def heartbeat_writes(directory: Path) -> dict[str, float]:
    """One simulated hour of liveness marks at the default interval (4 s: 900 marks, each
    fdatasync'ed), scaled to a day: bytes handed to the kernel, and the upper bound reaching the
    card (one 4 KiB block per mark). Real sectors: benchmarks/liveness_mark_bytes.py (root)."""
    config = HealthConfig()
    core = HealthCore(directory, config, boot_id="bench")
    now = 1_790_000_000.0
    core.start(now, ["cam1", "cam2"])
    marks = int(3600 / config.heartbeat_interval_s)
    before = psutil.Process().io_counters()
    started = time.perf_counter()
    for mark in range(1, marks + 1):
        core.heartbeat(now + mark * config.heartbeat_interval_s)
    elapsed = time.perf_counter() - started
    after = psutil.Process().io_counters()
    core.stop(now + 3600)
    return {
        "write_calls_kib_per_day": (after.write_chars - before.write_chars) / 1024 * 24,
        "card_upper_bound_kib_per_day": marks * 24 * 4,
        "mark_ms": elapsed / marks * 1000,
    }


def audit_figures(directory: Path, records: int) -> dict[str, float]:
    log = AuditLog(directory)
    started = time.perf_counter()
    for index in range(records):
        log.append_sync("ops1", "mqtt", "cmd/power_cycle", "cam1", {"i": index, "reason": "bench"}, "ok")
    appended = time.perf_counter() - started
    started = time.perf_counter()
    result = verify_log(directory)
    verified = time.perf_counter() - started
    assert result.ok
    return {"append_per_s": records / appended, "verify_per_s": records / verified}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-health-") as tmp:
        root = Path(tmp)
        month = _fmt(month_replay(root / "month"))
        print("scripted month replay (30 days, every device polled each minute):", month)
        print("liveness mark writes (default 4 s), per day:", _fmt(heartbeat_writes(root / "hb")))
        print(
            f"audit log, {args.records} records (fsync each):",
            _fmt(audit_figures(root / "audit", args.records)),
        )


def _fmt(figures: dict[str, float]) -> str:
    return ", ".join(f"{name} {value:.1f}" for name, value in figures.items())


if __name__ == "__main__":
    main()
