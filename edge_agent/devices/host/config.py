"""`type: host` configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from edge_agent.config_base import StrictModel
from edge_agent.devices.base import DeviceConfig


class Limit(StrictModel):
    """A warning level (device degraded) and a critical level (device in fault)."""

    warning: float = Field(description="At or above this the device is degraded.")
    critical: float = Field(description="At or above this the device is in fault.")

    @model_validator(mode="after")
    def _ordered(self) -> Limit:
        if self.critical < self.warning:
            raise ValueError("critical must not be below warning")
        return self


class HostLimits(StrictModel):
    cpu_percent: Limit = Field(Limit(warning=90, critical=98), description="CPU use over the poll interval.")
    memory_percent: Limit = Field(Limit(warning=90, critical=97), description="Memory in use.")
    disk_percent: Limit = Field(Limit(warning=85, critical=95), description="Use of the data partition.")
    temperature_c: Limit = Field(Limit(warning=80, critical=90), description="Hottest CPU sensor.")
    # A full cabinet (cameras: zeep and their WSDLs; the page: aiohttp) runs at ~150 MB; far beyond
    # that is a leak worth a technician's visit.
    agent_rss_mb: Limit = Field(
        Limit(warning=250, critical=400), description="The agent's own resident memory."
    )


class HostConfig(DeviceConfig):
    type: Literal["host"]
    poll_interval_s: float = Field(30, gt=0, le=86400, description="Time between the starts of two polls.")
    disk_path: Path | None = Field(
        None, description="Partition to watch; default the agent's data directory."
    )
    limits: HostLimits = Field(default_factory=dict, validate_default=True)
