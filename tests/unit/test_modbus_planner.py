"""Request planning: merge adjacent values, honour the per-request limit and the max gap."""

from __future__ import annotations

from edge_agent.devices.modbus.planner import plan
from edge_agent.devices.modbus.profile import ValueDef, load_profile


def _v(name: str, address: int, type_: str = "float32", function: str = "input") -> ValueDef:
    return ValueDef.model_validate({"name": name, "address": address, "type": type_, "function": function})


def test_sdm630_thirty_values_in_two_requests() -> None:
    profile = load_profile("eastron_sdm630")
    assert len(profile.values) == 30
    requests = plan(profile.values, max_registers=profile.max_registers_per_request, max_gap=10)
    assert [(r.address, r.count) for r in requests] == [(0, 58), (60, 20)]
    assert sum(len(r.values) for r in requests) == 30
    assert all(r.count <= 60 for r in requests)


def test_all_in_one_when_the_limit_allows() -> None:
    profile = load_profile("eastron_sdm630")
    assert len(plan(profile.values, max_registers=125, max_gap=10)) == 1


def test_gap_splits_and_tables_stay_apart() -> None:
    values = [
        _v("a", 0),
        _v("b", 2),
        _v("c", 20),
        _v("d", 0, "uint16", "holding"),
        _v("e", 5, "bool", "coil"),
    ]
    requests = plan(values, max_gap=10)
    assert [(r.function, r.address, r.count) for r in requests] == [
        ("coil", 5, 1),
        ("holding", 0, 1),
        ("input", 0, 4),
        ("input", 20, 2),
    ]
    assert len(plan(values, max_gap=16)) == 3  # 4..20 is a 16-word hole: now merged


def test_limit_is_never_exceeded() -> None:
    values = [_v(f"v{i}", i * 2) for i in range(100)]  # 200 contiguous registers
    requests = plan(values, max_registers=125)
    assert [r.count for r in requests] == [124, 76]
    bits = [_v(f"b{i}", i, "bool", "discrete_input") for i in range(2500)]
    assert [r.count for r in plan(bits)] == [2000, 500]


def test_words_of_slices_the_reply() -> None:
    request = plan([_v("a", 10, "uint16", "holding"), _v("b", 12, "uint16", "holding")])[0]
    assert request.words_of(request.values[1], [1, 2, 3]) == [3]
