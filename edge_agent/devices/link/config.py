"""`type: link` configuration: where the uplink and the cabinet LAN are probed."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

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
        3, ge=1, le=10, description="Connects per target and probe, in turn; loss = failed / attempts."
    )
    connect_timeout_s: float = Field(
        1.5,
        gt=0,
        le=30,
        description="Timeout of one connect; attempts x connect_timeout_s must fit in timeout_s.",
    )

    @model_validator(mode="after")
    def _probe_fits_in_the_poll(self) -> Self:
        # A silent cut (packets dropped) makes every connect wait its full timeout: if the probe
        # cannot finish within the poll's timeout, the probe itself goes offline (cause device)
        # and the cabinet never books network_carrier.
        needed = self.attempts * self.connect_timeout_s
        if needed >= self.timeout_s:
            raise ValueError(
                f"attempts x connect_timeout_s = {self.attempts} x {self.connect_timeout_s:g} s ="
                f" {needed:g} s must be shorter than timeout_s ({self.timeout_s:g} s): a silent"
                " uplink cut would time the probe out instead of booking network_carrier"
            )
        return self
