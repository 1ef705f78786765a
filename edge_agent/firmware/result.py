"""A phase's outcome in the shape of the hook contract: checks, facts, fault, exit code."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_REFUSED = 1  # refused / failed check; for `pre` and a refused upload nothing was changed
EXIT_CHANGED = 2  # failed after changing something: run `rollback`
EXIT_MANUAL = 3  # cannot recover by itself: fault `manual_recovery_needed`
EXIT_USAGE = 64


@dataclass
class PhaseResult:
    """What one phase found; `exit_code` follows the contract's table."""

    hook: str
    checks: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    fault: dict[str, str] | None = None
    changed: bool = False  # the camera was changed (an image was sent): a failure needs rollback

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append({"name": name, "ok": ok, "detail": detail[:300]})
        return ok

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks) and self.fault is None

    @property
    def summary(self) -> str:
        problems = [f"{c['name']}: {c['detail']}" for c in self.checks if not c["ok"]]
        if self.fault is not None:
            problems.append(f"{self.fault['code']}: {self.fault['message']}")
        return "; ".join(problems) or "all checks passed"

    @property
    def exit_code(self) -> int:
        if self.fault is not None and self.fault["code"] == "manual_recovery_needed":
            return EXIT_MANUAL
        if self.ok:
            return EXIT_OK
        return EXIT_CHANGED if self.changed else EXIT_REFUSED

    def record(self) -> dict[str, Any]:
        """The contract's result record (the last JSON line of a hook)."""
        return {
            "type": "result",
            "hook": self.hook,
            "ok": self.ok,
            "summary": self.summary,
            "checks": self.checks,
            "facts": self.facts,
            "fault": self.fault,
        }
