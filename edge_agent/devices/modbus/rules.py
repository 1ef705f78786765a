"""Health rules of a profile, evaluated on each poll's values. Pure: time is passed in.

The engine keeps only what a rule needs to remember between polls: which threshold faults are
active (hysteresis), when a value last moved or was last read (stuck, stale), and whether a
condition held last time (so its events fire once per edge, not on every poll).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from edge_agent.devices.modbus.profile import (
    Comparison,
    ConditionRule,
    Levels,
    StaleRule,
    StuckRule,
    ThresholdRule,
)
from edge_agent.readings import DeviceEvent, Fault, Severity, Value

AnyRule = ThresholdRule | StaleRule | StuckRule | ConditionRule


@dataclass
class RuleOutcome:
    faults: list[Fault] = field(default_factory=list)
    events: list[DeviceEvent] = field(default_factory=list)


def _number(value: Value) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


def holds(comparison: Comparison, values: Mapping[str, Value]) -> bool | None:
    """Whether the comparison holds; None when its value is missing (unknown, not false)."""
    value = values.get(comparison.value)
    if value is None:
        return None
    if comparison.equals is not None:
        if isinstance(comparison.equals, bool) or isinstance(value, bool):
            return bool(value) == bool(comparison.equals)
        return value == comparison.equals
    number = _number(value)
    if number is None:
        return None
    if comparison.above is not None:
        return number > comparison.above
    assert comparison.below is not None
    return number < comparison.below


class RuleEngine:
    def __init__(self, rules: Sequence[AnyRule]) -> None:
        self.rules = list(rules)
        self._active: set[str] = set()  # threshold fault keys and condition codes that hold
        self._last_seen: dict[str, float] = {}  # of the values stale rules watch (no others: per poll)
        self._watched = {rule.value for rule in self.rules if isinstance(rule, StaleRule)}
        self._last_moved: dict[str, tuple[float, float]] = {}  # value -> (reference, since)
        # Per rule, the band where no level of a threshold can be crossed nor latched (see `_calm`).
        self._bands = [_calm_band(rule) if isinstance(rule, ThresholdRule) else None for rule in self.rules]

    def evaluate(self, values: Mapping[str, Value], now_s: float) -> RuleOutcome:
        outcome = RuleOutcome()
        for name in self._watched:
            if values.get(name) is not None:
                self._last_seen[name] = now_s
        for rule, band in zip(self.rules, self._bands, strict=True):
            if isinstance(rule, ThresholdRule):
                if not self._calm(rule, band, values):
                    self._threshold(rule, values, outcome)
            elif isinstance(rule, StaleRule):
                self._stale(rule, values, now_s, outcome)
            elif isinstance(rule, StuckRule):
                self._stuck(rule, values, now_s, outcome)
            else:
                self._condition(rule, values, outcome)
        return outcome

    def _calm(
        self, rule: ThresholdRule, band: tuple[float, float] | None, values: Mapping[str, Value]
    ) -> bool:
        """The value is back inside every level by the hysteresis and no latch holds: `_threshold`
        would change nothing and find nothing (once per rule per poll, so kept to a comparison)."""
        value = values.get(rule.value)
        if self._active or band is None or type(value) is not float:
            return False
        return band[0] <= value <= band[1]

    def _threshold(self, rule: ThresholdRule, values: Mapping[str, Value], outcome: RuleOutcome) -> None:
        number = _number(values.get(rule.value))
        if number is None:
            return
        code = rule.code or rule.value
        for side, levels in (("high", rule.high), ("low", rule.low)):
            if levels is None:
                continue
            severity = self._level(f"{code}_{side}", side, levels, number, rule.hysteresis)
            if severity is not None:
                where = "above" if side == "high" else "below"
                message = f"{rule.value} = {number:g}: {where} its {severity} level"
                outcome.faults.append(Fault(f"{code}_{side}", severity, message))

    def _level(
        self, key: str, side: str, levels: Levels, number: float, hysteresis: float
    ) -> Severity | None:
        """The severity active for one side; each level latches until back inside by `hysteresis`."""
        found: Severity | None = None
        severities: tuple[Severity, ...] = ("warning", "critical")
        for severity in severities:
            level = getattr(levels, severity)
            if level is None:
                continue
            latch = f"{key}:{severity}"
            beyond = number > level if side == "high" else number < level
            back = number <= level - hysteresis if side == "high" else number >= level + hysteresis
            if beyond:
                self._active.add(latch)
            elif back:
                self._active.discard(latch)
            if latch in self._active:
                found = severity
        return found

    def _stale(
        self, rule: StaleRule, values: Mapping[str, Value], now_s: float, outcome: RuleOutcome
    ) -> None:
        seen = self._last_seen.setdefault(rule.value, now_s)  # the clock starts at the first poll
        age = now_s - seen
        if values.get(rule.value) is None and age > rule.after_s:
            message = f"{rule.value} not read for {age:.0f} s"
            outcome.faults.append(Fault(f"{rule.value}_stale", rule.severity, message))

    def _stuck(
        self, rule: StuckRule, values: Mapping[str, Value], now_s: float, outcome: RuleOutcome
    ) -> None:
        number = _number(values.get(rule.value))
        if number is None:
            return
        reference, since = self._last_moved.get(rule.value, (number, now_s))
        if abs(number - reference) > rule.tolerance:
            reference, since = number, now_s
        self._last_moved[rule.value] = (reference, since)
        if now_s - since >= rule.after_s:
            message = f"{rule.value} stuck at {number:g} for {now_s - since:.0f} s"
            outcome.faults.append(Fault(f"{rule.value}_stuck", rule.severity, message))

    def _condition(self, rule: ConditionRule, values: Mapping[str, Value], outcome: RuleOutcome) -> None:
        results = [holds(comparison, values) for comparison in rule.all]
        was = rule.code in self._active
        # A missing value does not flip a condition either way.
        now_holds = was if any(result is None for result in results) else all(results)
        if now_holds:
            message = _format(rule.message, values)
            outcome.faults.append(Fault(rule.code, rule.severity, message, rule.cause or "device"))
        if now_holds == was:
            return
        detail = {c.value: values.get(c.value) for c in rule.all}
        if now_holds:
            self._active.add(rule.code)
            if rule.event:
                severity = rule.event_severity or rule.severity
                outcome.events.append(DeviceEvent(rule.event, severity, detail, rule.cause))
        else:
            self._active.discard(rule.code)
            if rule.clear_event:
                outcome.events.append(DeviceEvent(rule.clear_event, "info", detail, rule.cause))


def _calm_band(rule: ThresholdRule) -> tuple[float, float]:
    """Values at which every level of `rule` is back inside by its hysteresis (so none is crossed)."""
    high, low = _set_levels(rule.high), _set_levels(rule.low)
    return (
        max(low) + rule.hysteresis if low else -math.inf,
        min(high) - rule.hysteresis if high else math.inf,
    )


def _set_levels(levels: Levels | None) -> list[float]:
    if levels is None:
        return []
    return [level for level in (levels.warning, levels.critical) if level is not None]


def _format(message: str, values: Mapping[str, Value]) -> str:
    try:
        return message.format_map(dict(values))
    except (KeyError, ValueError, IndexError):
        return message
