"""What a firmware upgrade asks of a camera the agent polls, in one place: the `Camera` protocol,
and `PolledCamera`, which answers it with the camera's poller and its poll loop.

An upgrade pauses the camera's polling while the camera reboots (its own poll must not report
it offline meanwhile); after it, a poll shows the camera as it now is (its new firmware version,
or that it did not come back) before the faults a poll cannot see are pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from edge_agent.readings import Fault

if TYPE_CHECKING:
    from edge_agent.devices.onvif_camera.config import OnvifCameraConfig
    from edge_agent.devices.onvif_camera.poller import OnvifCameraPoller
    from edge_agent.runtime.device_runner import DeviceRunner


class Camera(Protocol):
    @property
    def config(self) -> OnvifCameraConfig: ...

    async def pin_fault(self, fault: Fault) -> None:
        """Raise `fault` now (even while offline) and with every poll until cleared."""

    def clear_faults(self, codes: Iterable[str]) -> None:
        """End pinned faults: the next poll no longer reports them."""

    async def pause(self) -> None:
        """Stop polling the camera; returns once a poll under way has ended."""

    def resume(self) -> None:
        """Poll the camera again."""

    async def recheck(self) -> None:
        """Poll now, the identity (firmware version) read again; returns once that poll has run."""


@dataclass(frozen=True)
class PolledCamera:
    """`Camera` over the poller (what each poll reports) and its runner (when it polls)."""

    poller: OnvifCameraPoller
    runner: DeviceRunner

    @property
    def config(self) -> OnvifCameraConfig:
        return self.poller.config

    async def pin_fault(self, fault: Fault) -> None:
        self.poller.pin_fault(fault)
        await self.runner.raise_fault(fault)

    def clear_faults(self, codes: Iterable[str]) -> None:
        self.poller.clear_faults(codes)

    async def pause(self) -> None:
        await self.runner.pause()

    def resume(self) -> None:
        self.runner.resume()

    async def recheck(self) -> None:
        self.poller.recheck_identity()
        # A poll ends within its timeout; the bound only guards against a loop that stopped.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2 * self.config.timeout_s):
                await self.runner.poll_soon()
