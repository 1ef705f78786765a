"""Per-check schedules inside one device: each check has its own interval and keeps its latest
evidence until it is too old to trust. A check without evidence contributes no "ok"."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge_agent.readings import Fault, Value


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one check found: values to publish and the faults they show."""

    values: dict[str, Value] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)


@dataclass(slots=True)
class _Check:
    interval_s: float
    next_due: float = 0.0
    evidence: Evidence | None = None
    found_at: float | None = None
    last_error: str | None = None


class CheckSchedule:
    """Decides which checks are due and what evidence is still current. Times are monotonic seconds.

    A failed check is retried after `retry_s` (the device's poll interval) and its earlier evidence
    kept while younger than two intervals plus one retry: one glitch does not blank the picture.
    """

    def __init__(self, intervals: dict[str, float], retry_s: float) -> None:
        self.retry_s = retry_s
        self._checks = {name: _Check(interval) for name, interval in intervals.items()}

    def due(self, now: float) -> list[str]:
        return [name for name, check in self._checks.items() if check.next_due <= now]

    def record(self, name: str, now: float, evidence: Evidence) -> None:
        check = self._checks[name]
        check.evidence, check.found_at, check.last_error = evidence, now, None
        check.next_due = now + check.interval_s

    def failed(self, name: str, now: float, error: str, *, retry_s: float | None = None) -> None:
        check = self._checks[name]
        check.last_error = error
        check.next_due = now + (self.retry_s if retry_s is None else retry_s)

    def make_due(self, name: str) -> None:
        self._checks[name].next_due = 0.0

    def current(self, now: float) -> dict[str, Evidence | None]:
        """Each check's evidence, or None where there is none (never found, or too old)."""
        result: dict[str, Evidence | None] = {}
        for name, check in self._checks.items():
            fresh = check.found_at is not None and now - check.found_at <= 2 * check.interval_s + self.retry_s
            result[name] = check.evidence if fresh else None
        return result

    def errors(self) -> dict[str, str]:
        return {name: check.last_error for name, check in self._checks.items() if check.last_error}
