"""Maintenance contracts as data: small YAML files (examples in `contracts/`, see docs/central.md).

A contract says which devices count (kinds, device id and site patterns), the threshold, the
outage causes excluded from the rate, what unknown time counts as, whether devices are judged
one by one or as one pool, and the penalty rule. Numbers are exact decimals (write them quoted
or plain); the report computes with fractions so a hand calculation matches to the cent.
"""

from __future__ import annotations

import fnmatch
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edge_agent.readings import Cause

EXAMPLES = ("traffic", "video", "carrier")


class ContractError(ValueError):
    """A contract file that cannot be read or does not validate; the message names the file and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceSelection(_Strict):
    kinds: list[str] = Field(default_factory=list, description="Device kinds counted; empty: every kind.")
    device_ids: list[str] = Field(default_factory=list, description="Shell patterns; empty: every id.")
    sites: list[str] = Field(default_factory=list, description="Shell patterns on the site; empty: all.")

    def counts(self, kind: str, device_id: str, site: str | None) -> bool:
        def matches(value: str, patterns: list[str]) -> bool:
            return not patterns or any(fnmatch.fnmatchcase(value, p) for p in patterns)

        kind_ok = not self.kinds or kind in self.kinds
        return kind_ok and matches(device_id, self.device_ids) and matches(site or "", self.sites)


class Penalty(_Strict):
    rule: Literal["none", "per_device_under_threshold", "per_percent_short", "per_outage_over_repair_time"]
    fee: Decimal = Field(Decimal(0), ge=0, description="Amount the rule multiplies.")
    currency: str = "CNY"
    rounding: Literal["ceil", "floor"] = Field(
        "ceil", description="per_percent_short: whether a part of a percent counts as a whole one."
    )
    repair_limit_h: Decimal = Field(Decimal(4), gt=0, description="per_outage_over_repair_time: the limit.")


class Contract(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    title: dict[str, str] = Field(default_factory=dict, description="Per language: en, zh-CN.")
    threshold: Decimal = Field(ge=0, le=1, description="Minimum online rate, 0..1.")
    excluded_causes: list[Cause] = Field(default_factory=list)
    devices: DeviceSelection = Field(default_factory=DeviceSelection)
    unknown_time: Literal["online", "offline", "excluded"] = Field(
        "online", description="What `unknown` seconds (and days no report covers) count as."
    )
    scope: Literal["device", "pool"] = Field("device", description="Judge each device, or one pooled rate.")
    link_outages: list[Cause] = Field(
        default_factory=list, description="List outages with these causes per device, with repair times."
    )
    penalty: Penalty = Field(default_factory=lambda: Penalty.model_validate({"rule": "none"}))

    def label(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en") or self.name


def load_contract(path: Path) -> Contract:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: {exc}") from exc
    try:
        return Contract.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ContractError(f"{path}: {where}: {first['msg']}") from None


def example_contracts() -> list[Contract]:
    """The contracts shipped as examples: traffic, video, carrier."""
    folder = files("edge_agent.fleet") / "contracts"
    return [
        Contract.model_validate(yaml.safe_load((folder / f"{n}.yaml").read_text("utf-8"))) for n in EXAMPLES
    ]
