"""Device kinds for benchmarks (loaded with EDGE_AGENT_PLUGINS=kinds): a toggling device."""

from __future__ import annotations

from typing import Literal

from edge_agent.devices.base import DeviceConfig, DeviceKind, Poller
from edge_agent.readings import Fault, PollResult


class ToggleConfig(DeviceConfig):
    type: Literal["toggle"]


class TogglePoller(Poller[ToggleConfig]):
    """Alternates ok and fault at every poll: one state change per poll."""

    flips = 0

    async def poll(self) -> PollResult:
        self.flips += 1
        faults = [Fault("bench", "critical", "benchmark fault")] if self.flips % 2 else []
        return PollResult(values={"flips": self.flips}, faults=faults)


KIND = DeviceKind("toggle", ToggleConfig, "kinds:TogglePoller")
