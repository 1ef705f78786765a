"""Every fault code a kind can raise has a catalogue entry (edge_agent/faults/catalogue.yaml).

Codes are found where they are made: string literals in `Fault(...)` calls anywhere in the
package, f-string codes by their suffix (`f"{code}_high"`), code tables (illuminator error bits,
the host's limit checks), the shipped Modbus profiles' rules, and the failure codes of offline
devices (DeviceError classes, the camera's failure classifier).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

import edge_agent
from edge_agent import errors
from edge_agent.devices.modbus.profile import ConditionRule, ThresholdRule, load_profile, shipped_profiles
from edge_agent.devices.onvif_camera.failures import FAILURE_CODES
from edge_agent.devices.serial.vivotek import ERROR_BITS
from edge_agent.faults import catalogue, lookup

PACKAGE = Path(edge_agent.__file__).parent
CODE = r"^[a-z][a-z0-9_]*$"


def _fault_calls() -> list[tuple[Path, ast.Call, ast.FunctionDef | None]]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [None, *(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))]:
            body = tree if function is None else function
            for node in ast.walk(body):
                called = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Fault"
                if called and (function is not None or not _inside_function(tree, node)):
                    found.append((path, node, function))
    return found


def _inside_function(tree: ast.Module, target: ast.AST) -> bool:
    return any(
        target in ast.walk(function) for function in ast.walk(tree) if isinstance(function, ast.FunctionDef)
    )


def _code_argument(call: ast.Call) -> ast.expr:
    keyword = [k.value for k in call.keywords if k.arg == "code"]
    return keyword[0] if keyword else call.args[0]


def _table_codes(function: ast.FunctionDef) -> set[str]:
    """Codes written as the first item of tuples in the raising function (the host's checks)."""
    return {
        node.elts[0].value
        for node in ast.walk(function)
        if isinstance(node, ast.Tuple)
        and node.elts
        and isinstance(node.elts[0], ast.Constant)
        and isinstance(node.elts[0].value, str)
    }


def _suffixes(code: ast.JoinedStr, function: ast.FunctionDef | None, where: str) -> set[str]:
    """`f"{value}_stale"` -> {"_stale"}; `f"{code}_{side}"` -> the sides the function loops over."""
    tail = code.values[-1]
    if isinstance(tail, ast.Constant):
        return {str(tail.value)}  # checked against the `*_suffix` pattern entries
    assert function is not None and len(code.values) >= 2, f"{where}: teach this test the code's suffix"
    separator = code.values[-2]
    assert isinstance(separator, ast.Constant), f"{where}: teach this test the code's suffix"
    return {f"{separator.value}{side}" for side in _table_codes(function)}


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path, call, function in _fault_calls():
        argument = _code_argument(call)
        where = f"{path.relative_to(PACKAGE)}:{call.lineno}"
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            codes.add(argument.value)
        elif isinstance(argument, ast.JoinedStr):
            codes.update(f"value{suffix}" for suffix in _suffixes(argument, function, where))
        elif isinstance(argument, ast.Attribute) and ast.unparse(argument) == "rule.code":
            continue  # a profile's condition code: profile_codes() covers the shipped profiles
        elif path.name == "illuminator.py":
            codes.update(code for code, _severity, _message in ERROR_BITS.values())
        else:
            assert function is not None, f"{where}: teach this test where the code comes from"
            table = _table_codes(function)
            assert table, f"{where}: teach this test where the code comes from"
            codes.update(table)
    return codes


def profile_codes() -> set[str]:
    codes = set()
    for name in shipped_profiles():
        for rule in load_profile(name).rules:
            if isinstance(rule, ConditionRule):
                codes.add(rule.code)
            elif isinstance(rule, ThresholdRule):
                codes.update(f"{rule.code or rule.value}_{side}" for side in ("high", "low"))
            else:
                codes.add(f"{rule.value}_{rule.type}")
    return codes


def failure_codes() -> set[str]:
    classes = [errors.DeviceError, errors.DeviceTimeout, errors.DeviceUnreachable, errors.DeviceProtocolError]
    return {cls.code for cls in classes} | set(FAILURE_CODES)


def test_the_scan_finds_the_kinds_codes() -> None:
    codes = raised_codes()
    # One from each source, so a scan that silently finds nothing cannot pass.
    assert {"sd_missing", "cpu_high", "radar_silent", "watchdog_reset", "value_high", "value_stale"} <= codes


@pytest.mark.parametrize("source", [raised_codes, profile_codes, failure_codes])
def test_every_code_a_kind_can_raise_is_catalogued(source: Callable[[], set[str]]) -> None:
    missing = sorted(code for code in source() if lookup(code) is None)
    assert missing == [], f"add these codes to edge_agent/faults/catalogue.yaml: {missing}"


def test_entries_are_complete_in_both_languages() -> None:
    for key, entry in catalogue().items():
        assert key.startswith("*_") or key.isidentifier(), key
        for words in (entry.zh_cn, entry.en):
            text = words.title + words.explain + words.check
            assert ("{subject}" in words.title) == key.startswith("*"), key
            assert "{" not in text.replace("{subject}", ""), key
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry.zh_cn.title), f"{key}: zh-CN title not Chinese"


def test_patterns_name_their_subject() -> None:
    assert lookup("voltage_l1_v_high") == ("*_high", "voltage_l1_v")
    assert lookup("sd_full") == ("sd_full", "")
    assert lookup("_high") is None and lookup("made_up") is None
