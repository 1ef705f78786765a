"""What a contract's penalty rule makes of a month (exact: fractions and decimals, no floats).

- `per_device_under_threshold`: fee x devices whose own rate is under the threshold.
- `per_percent_short`: the pooled rate of all counted devices; each percent (or part of one, with
  `rounding: ceil`) it is short of the threshold costs the fee for every device with counted
  offline time in the month ("a month's fee for the offline cameras").
- `per_outage_over_repair_time`: fee x listed outages whose repair took longer than the limit
  (one still open at the month's end counts when it has already run longer).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Protocol

from edge_agent.fleet.contracts import Contract
from edge_agent.fleet.links import LinkOutage


class JudgedDevice(Protocol):
    @property
    def counted_offline_s(self) -> Fraction: ...


class MonthReport(Protocol):
    """What the rules read of a month (`month.MonthReport`, which imports this module)."""

    @property
    def contract(self) -> Contract: ...
    @property
    def pool_rate(self) -> Fraction | None: ...
    @property
    def under_threshold(self) -> Sequence[JudgedDevice]: ...
    @property
    def devices(self) -> Sequence[JudgedDevice]: ...
    @property
    def outages(self) -> Sequence[LinkOutage]: ...


@dataclass(frozen=True, slots=True)
class PenaltyResult:
    amount: Decimal
    currency: str
    units: int  # devices, percent-steps x devices, or outages: what the fee was multiplied by
    detail: str  # one line for people (English; the renderer translates the frame)


def penalty(report: MonthReport, *, now: datetime | None = None) -> PenaltyResult:
    rule = report.contract.penalty
    if rule.rule == "per_device_under_threshold":
        count = len(report.under_threshold)
        return PenaltyResult(rule.fee * count, rule.currency, count, f"{count} device(s) under the threshold")
    if rule.rule == "per_percent_short":
        return _percent_short(report)
    if rule.rule == "per_outage_over_repair_time":
        limit_s = float(rule.repair_limit_h * 3600)
        late = [
            o
            for o in report.outages
            if (o.repair_s if o.repair_s is not None else _open_s(o.start, now)) > limit_s
        ]
        detail = f"{len(late)} outage(s) repaired later than {rule.repair_limit_h} h"
        return PenaltyResult(rule.fee * len(late), rule.currency, len(late), detail)
    return PenaltyResult(Decimal(0), rule.currency, 0, "no penalty rule")


def _percent_short(report: MonthReport) -> PenaltyResult:
    rule = report.contract.penalty
    rate = report.pool_rate
    threshold = Fraction(report.contract.threshold)
    if rate is None or rate >= threshold:
        return PenaltyResult(Decimal(0), rule.currency, 0, "pooled rate meets the threshold")
    short = (threshold - rate) * 100
    steps = math.ceil(short) if rule.rounding == "ceil" else math.floor(short)
    offline = [d for d in report.devices if d.counted_offline_s > 0]
    units = steps * len(offline)
    detail = f"{float(short):.4f} % short -> {steps} step(s) x {len(offline)} offline device(s)"
    return PenaltyResult(rule.fee * units, rule.currency, units, detail)


def _open_s(start: datetime, now: datetime | None) -> float:
    return ((now or datetime.now(start.tzinfo)) - start).total_seconds()
