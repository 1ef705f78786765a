"""The soak probe's census names who holds a growing container (benchmarks/soak_probe.py)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from soak_probe import _owner, container_sizes, growers  # benchmarks is not a package


class Keeper:
    def __init__(self) -> None:
        self.pending: list[int] = []


def test_a_growing_list_is_named_by_the_attribute_and_the_object_that_hold_it() -> None:
    keeper = Keeper()
    keeper.pending.extend(range(20))
    first = container_sizes()
    keeper.pending.extend(range(50))
    grown = growers(first, container_sizes())
    assert any(line.startswith("+50 -> 70: list") and "in Keeper.pending" in line for line in grown)


def test_a_container_held_only_by_a_frozen_object_says_so() -> None:
    keeper = Keeper()
    gc.freeze()  # the agent freezes start-up's objects at READY: the collector no longer sees them
    try:
        assert _owner(keeper.pending, set(), depth=2) == "a frozen start-up object or C"
    finally:
        gc.unfreeze()
    assert _owner(keeper.pending, set(), depth=2).startswith("Keeper.pending")
