#!/usr/bin/env python3
"""Agent upgrade, after the restart: the health gate. The agent must run and report the expected
version (EDGE_AGENT_EXPECT_VERSION) within EDGE_AGENT_HEALTH_WAIT_S; optionally answer
EDGE_AGENT_HEALTH_URL and reach the broker (EDGE_AGENT_REQUIRE_BROKER=1).

Exit 0: healthy; 1: not healthy, the caller rolls back.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import _hook

MARGIN_S = 30


def main(result: _hook.Result) -> None:
    home = Path(_hook.env("EDGE_AGENT_HOME"))
    expect = _hook.env("EDGE_AGENT_EXPECT_VERSION")
    wait_s = _hook.env_float("EDGE_AGENT_HEALTH_WAIT_S", 60)
    argv = [
        str(home / "current" / "bin" / "edge-agent"),
        "health",
        "--config",
        _hook.env("EDGE_AGENT_CONFIG"),
        "--expect-version",
        expect,
        "--wait-s",
        str(wait_s),
    ]
    if url := _hook.env("EDGE_AGENT_HEALTH_URL", ""):
        argv += ["--url", url]
    if _hook.env("EDGE_AGENT_REQUIRE_BROKER", "0") == "1":
        argv.append("--require-broker")
    _hook.progress("waiting for the agent to report healthy", expect_version=expect, wait_s=wait_s)
    report = _health(argv, wait_s + MARGIN_S)
    result.facts["expect_version"] = expect
    result.facts["liveness"] = report.get("liveness")
    checks = report.get("checks") or [{"name": "health", "ok": False, "detail": report.get("error", "?")}]
    for check in checks:
        result.check(str(check.get("name")), bool(check.get("ok")), str(check.get("detail")))


def _health(argv: list[str], timeout_s: float) -> dict[str, object]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"cannot run edge-agent health: {exc}"}
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": f"edge-agent health said: {(done.stdout + done.stderr).strip()[-300:]!r}"}
    return report if isinstance(report, dict) else {"error": "edge-agent health printed no object"}


if __name__ == "__main__":
    _hook.run("agent/post", main)
