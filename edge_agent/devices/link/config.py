"""`type: link` configuration: where the uplink and the cabinet LAN are probed."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edge_agent.config_base import StrictModel
from edge_agent.devices.base import DeviceConfig


class Target(StrictModel):
    host: str = Field(min_length=1, max_length=253, description="Address or name of the probed host.")
    port: int = Field(
        ge=1, le=65535, description="TCP port; a refused connection still proves the host answers."
    )


class LinkConfig(DeviceConfig):
    type: Literal["link"]
    poll_interval_s: float = Field(30, gt=0, le=3600, description="Time between the starts of two probes.")
    broker: Target = Field(description="The central broker (uplink reachable end to end).")
    gateway: Target | None = Field(None, description="The carrier's gateway / router, if it has a TCP port.")
    lan_switch: Target | None = Field(None, description="The cabinet LAN switch (web or SSH port).")
    attempts: int = Field(
        3, ge=1, le=10, description="Connects per target and probe; loss = failed / attempts."
    )
    connect_timeout_s: float = Field(2.0, gt=0, le=30, description="Timeout of one connect.")
