"""Health rules: thresholds with hysteresis, stale and stuck values, conditions with edge events."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from edge_agent.devices.modbus.profile import Rule
from edge_agent.devices.modbus.rules import RuleEngine

_RULE: TypeAdapter[Any] = TypeAdapter(Rule)


def _engine(*rules: dict[str, Any]) -> RuleEngine:
    return RuleEngine([_RULE.validate_python(rule) for rule in rules])


def _codes(engine: RuleEngine, values: dict[str, Any], now: float = 0.0) -> dict[str, str]:
    return {f.code: f.severity for f in engine.evaluate(values, now).faults}


def test_threshold_hysteresis() -> None:
    engine = _engine(
        {"type": "threshold", "value": "t", "high": {"warning": 50, "critical": 60}, "hysteresis": 2}
    )
    assert _codes(engine, {"t": 49}) == {}
    assert _codes(engine, {"t": 51}) == {"t_high": "warning"}
    assert _codes(engine, {"t": 49}) == {"t_high": "warning"}  # inside, but not by the hysteresis
    assert _codes(engine, {"t": 61}) == {"t_high": "critical"}
    assert _codes(engine, {"t": 59}) == {"t_high": "critical"}
    assert _codes(engine, {"t": 57.9}) == {"t_high": "warning"}
    assert _codes(engine, {"t": 47.9}) == {}


def test_low_threshold() -> None:
    engine = _engine(
        {"type": "threshold", "value": "b", "low": {"warning": 30, "critical": 10}, "hysteresis": 5}
    )
    assert _codes(engine, {"b": 9}) == {"b_low": "critical"}
    assert _codes(engine, {"b": 12}) == {"b_low": "critical"}
    assert _codes(engine, {"b": 16}) == {"b_low": "warning"}
    assert _codes(engine, {"b": 36}) == {}


def test_stuck_value() -> None:
    engine = _engine({"type": "stuck", "value": "t", "after_s": 60, "tolerance": 0.05})
    assert _codes(engine, {"t": 20.0}, 0) == {}
    assert _codes(engine, {"t": 20.04}, 30) == {}
    assert _codes(engine, {"t": 20.0}, 61) == {"t_stuck": "warning"}
    assert _codes(engine, {"t": 20.5}, 62) == {}


def test_stale_value() -> None:
    engine = _engine({"type": "stale", "value": "t", "after_s": 10})
    assert _codes(engine, {"t": 1}, 0) == {}
    assert _codes(engine, {}, 5) == {}
    assert _codes(engine, {}, 11) == {"t_stale": "warning"}
    assert _codes(engine, {"t": 1}, 12) == {}


def test_condition_events_on_edges_only() -> None:
    engine = _engine(
        {
            "type": "condition",
            "code": "mains_lost",
            "all": [{"value": "v", "below": 150}],
            "severity": "warning",
            "message": "mains lost ({v} V)",
            "event": "mains_lost",
            "clear_event": "mains_restored",
            "cause": "power_supply",
        }
    )
    assert engine.evaluate({"v": 230}, 0).events == []
    lost = engine.evaluate({"v": 0}, 1)
    assert [(e.type, e.cause) for e in lost.events] == [("mains_lost", "power_supply")]
    assert lost.faults[0].message == "mains lost (0 V)"
    assert engine.evaluate({"v": 0}, 2).events == []
    assert engine.evaluate({}, 3).faults[0].code == "mains_lost"  # a missing value keeps the state
    back = engine.evaluate({"v": 231}, 4)
    assert [(e.type, e.cause) for e in back.events] == [("mains_restored", "power_supply")]
    assert back.faults == []


def test_condition_with_booleans() -> None:
    engine = _engine(
        {
            "type": "condition",
            "code": "dark",
            "all": [{"value": "night", "equals": True}, {"value": "i", "below": 0.05}],
            "message": "dark",
        }
    )
    assert _codes(engine, {"night": False, "i": 0.0}) == {}
    assert _codes(engine, {"night": True, "i": 0.0}) == {"dark": "critical"}
    assert _codes(engine, {"night": True, "i": 1.0}) == {}


def test_the_calm_band_shortcut_decides_as_every_level_would() -> None:
    """Float readings inside every level by the hysteresis skip the per-level work: the faults found
    along a walk in and out of the levels are those of the engine with no shortcut."""
    rules = (
        {"type": "threshold", "value": "v", "high": {"warning": 253, "critical": 264}, "hysteresis": 2},
        {
            "type": "threshold",
            "value": "f",
            "high": {"warning": 51},
            "low": {"warning": 49},
            "hysteresis": 0.1,
        },
        {"type": "condition", "code": "c", "all": [{"value": "v", "below": 150}], "message": "low"},
    )
    fast, reference = _engine(*rules), _engine(*rules)
    reference._bands = [None] * len(reference.rules)  # every threshold through the per-level path
    walk = [230.0, 251.5, 253.5, 252.0, 250.9, 265.0, 262.5, 261.9, 140.0, 230.0, 250.0, 251.0]
    for step, volts in enumerate(walk):
        hertz = 50.0 + (step % 5 - 2) * 0.55  # 48.9 .. 51.1: in and out of both levels
        values = {"v": volts, "f": hertz}
        assert _codes(fast, values) == _codes(reference, values), values
