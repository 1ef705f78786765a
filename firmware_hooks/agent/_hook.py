"""What every hook of this folder shares: reading its environment and speaking the hook contract.

The contract (firmware_hooks/README.md): environment in; JSON Lines on stdout, progress records
first and exactly one result record last; exit 0 when the step may go on, 1 when it must not
(nothing was changed), 64 when the hook was called wrongly. Standard library only: a hook runs
with the cabinet's system Python, whatever state the agent's venvs are in.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 64


class UsageError(Exception):
    """The hook was called without what the contract promises it."""


def env(name: str, default: str | None = None) -> str:
    """A variable of the contract; unset or empty means `default`, and without one a usage error."""
    value = os.environ.get(name) or default
    if value is None:
        raise UsageError(f"{name} is not set")
    return value


def env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise UsageError(f"{name} must be a number") from None


def progress(message: str, **facts: Any) -> None:
    print(json.dumps({"type": "progress", "message": message, **facts}), flush=True)


@dataclass
class Result:
    """The last line a hook prints; `ok` decides the exit code."""

    hook: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    fault: dict[str, str] | None = None

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append({"name": name, "ok": ok, "detail": detail})
        return ok

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks) and self.fault is None

    def finish(self) -> int:
        failed = [c for c in self.checks if not c["ok"]]
        problems = [f"{c['name']}: {c['detail']}" for c in failed]
        if self.fault is not None:
            problems.append(f"{self.fault['code']}: {self.fault['message']}")
        summary = "; ".join(problems) or "all checks passed"
        record = {"type": "result", "hook": self.hook, "ok": self.ok, "summary": summary}
        record.update(checks=self.checks, facts=self.facts, fault=self.fault)
        print(json.dumps(record, default=str), flush=True)
        return EXIT_OK if self.ok else EXIT_REFUSED


def run(hook: str, body: Any) -> None:
    """Call `body(result)` and exit by the contract; a usage error is reported as a result too."""
    result = Result(hook)
    try:
        body(result)
    except UsageError as exc:
        result.fault = {"code": "hook_usage", "severity": "warning", "message": str(exc)}
        result.finish()
        sys.exit(EXIT_USAGE)
    sys.exit(result.finish())
