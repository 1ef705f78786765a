"""The memory soak's arithmetic (benchmarks/soak_figures.py): slopes, their error, trim floors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from soak_figures import fit, floors, halves  # benchmarks is not a package


def test_a_straight_line_has_its_slope_and_no_error() -> None:
    points = [(t, 5.0 + 2.0 * t) for t in range(10)]
    assert fit(points) == pytest.approx((2.0, 0.0))
    assert halves(points) == pytest.approx((2.0, 2.0))


def test_a_saw_tooth_is_judged_by_its_floors() -> None:
    # rises 1 a second for 300 s, then falls back to a floor that climbs 10 per period
    points = [(float(t), (t // 300) * 10.0 + (t % 300)) for t in range(1200)]
    lows = floors(points, 300)
    assert [v for _, v in lows] == [0.0, 10.0, 20.0, 30.0]
    assert fit(lows)[0] == pytest.approx(10 / 300)
