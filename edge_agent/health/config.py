"""The `health` and `audit` sections of the cabinet config: ledger, attribution, reports, audit log."""

from __future__ import annotations

from datetime import time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from edge_agent.config_base import Identifier, Secret, StrictModel
from edge_agent.readings import Cause

CONTRACT_EXCLUDED: tuple[Cause, ...] = ("power_supply", "network_carrier")


class HealthConfig(StrictModel):
    timezone: str = Field("UTC", description="IANA zone of the contract's calendar days, e.g. Asia/Shanghai.")
    heartbeat_interval_s: float = Field(
        4,
        ge=1,
        le=3600,
        description="Liveness mark (one 4 KiB block, fdatasync) written this often: bounds the booked"
        " agent-down window to this plus the write time. 4 s: 21 600 marks, ~212 MB a day on ext4.",
    )
    unknown_time: Literal["online", "excluded"] = Field(
        "online",
        description="Contract rule for `unknown` seconds (no evidence, agent not running): `online`"
        " counts them as online, `excluded` removes them from the scheduled time.",
    )
    excluded_causes: list[Cause] = Field(
        default_factory=lambda: list(CONTRACT_EXCLUDED),
        description="Offline causes the contract does not count against the online rate.",
    )
    switches: dict[Identifier, list[Identifier]] = Field(
        default_factory=dict,
        description="LAN switch id -> device ids behind it: all of them offline at once = cause cabinet.",
    )
    report_time: time = Field(time(0, 5), description="Local time of the daily report (for the day before).")
    report_keep_days: int = Field(400, ge=31, description="Reports kept on disk this many days.")
    repeat_fault_count: int = Field(
        2,
        ge=1,
        le=100,
        description="Recurrences of one fault (after it was cleared) that recommend replacement.",
    )
    repeat_fault_window_days: float = Field(30, gt=0, le=400, description="Window counting recurrences.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AuditConfig(StrictModel):
    retention_days: float = Field(
        400, ge=183, description="Audit records kept at least this long (>= 6 months)."
    )
    max_file_bytes: int = Field(
        1 << 20, ge=4096, description="The live audit file is rotated beyond this size."
    )
    max_file_age_days: float = Field(31, gt=0, description="... or when its first record is this old.")
    key: Secret | None = Field(
        None,
        description=(
            "Per-cabinet key sealing each record (HMAC), the anchor and the high-water mark, so the "
            "log cannot be rewritten without it; the same key is needed by `edge-agent audit verify`."
        ),
    )
