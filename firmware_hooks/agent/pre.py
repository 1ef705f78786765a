#!/usr/bin/env python3
"""Agent upgrade, before the switch: the new venv is sane, it accepts the configuration, and the
running agent's outbox is flushed to the broker.

Refuses (exit 1, nothing changed) when the new venv does not report the version or rejects the
configuration. An outbox that does not drain within EDGE_AGENT_FLUSH_WAIT_S (a cabinet cut off
from the broker) does not refuse: the outbox is durable on disk and the new version sends it.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import _hook

COMMAND_TIMEOUT_S = 120
POLL_S = 0.5


def main(result: _hook.Result) -> None:
    home = Path(_hook.env("EDGE_AGENT_HOME"))
    config = _hook.env("EDGE_AGENT_CONFIG")
    version = _hook.env("EDGE_AGENT_TO_VERSION")
    binary = home / "venvs" / version / "bin" / "edge-agent"
    result.facts.update(to_version=version, from_version=_hook.env("EDGE_AGENT_FROM_VERSION", "-"))
    _hook.progress("checking the new venv", version=version)
    answer = _command([str(binary), "--version"])
    if not result.check("new_venv", answer.endswith(f" {version}"), f"{binary} says {answer!r}"):
        return
    _hook.progress("checking the configuration with the new version")
    checked = _command([str(binary), "check", "--config", config])
    result.check("config_accepted", checked.startswith(config) and ": ok:" in checked, checked[-500:])
    if result.ok:
        _flush(result, binary, config, _hook.env_float("EDGE_AGENT_FLUSH_WAIT_S", 30))


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run: {exc}"
    return (done.stdout + done.stderr).strip()


def _flush(result: _hook.Result, binary: Path, config: str, wait_s: float) -> None:
    """Wait for a fresh liveness record with an empty outbox; the agent sends while we wait."""
    _hook.progress("waiting for the outbox to drain", wait_s=wait_s)
    started = time.time()
    deadline = time.monotonic() + wait_s
    record: dict[str, object] = {}
    while True:
        record = _liveness(binary, config)
        fresh = str(record.get("updated_at", "")) >= _iso(started)
        if fresh and record.get("outbox_depth") == 0:
            break
        if time.monotonic() + POLL_S > deadline:
            break
        time.sleep(POLL_S)
    result.facts["agent_running"] = bool(record)
    result.facts["outbox_depth"] = record.get("outbox_depth")
    result.facts["outbox_flushed"] = record.get("outbox_depth") == 0


def _liveness(binary: Path, config: str) -> dict[str, object]:
    """The running agent's liveness record through `edge-agent health` of the new version."""
    answer = _command([str(binary), "health", "--config", config])
    try:
        report = json.loads(answer.splitlines()[-1]) if answer else {}
    except ValueError:
        return {}
    liveness = report.get("liveness") if isinstance(report, dict) else None
    return liveness if isinstance(liveness, dict) else {}


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch))


if __name__ == "__main__":
    _hook.run("agent/pre", main)
