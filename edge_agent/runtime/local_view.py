"""The read-only view of the running agent the diagnostics page gets (`diagnostics.view.AgentView`),
and the page as a component of the agent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_agent.audit import AuditLog
from edge_agent.commands.dispatcher import Dispatcher
from edge_agent.config import AgentConfig
from edge_agent.runtime.cabinet_health import CabinetHealth
from edge_agent.runtime.device_runner import DeviceRunner
from edge_agent.runtime.figures import Figures
from edge_agent.runtime.live_state import LiveState
from edge_agent.runtime.tasks import running

if TYPE_CHECKING:
    from edge_agent.diagnostics.server import DiagnosticsServer


@dataclass(frozen=True)
class LocalView:
    config: AgentConfig
    live: LiveState
    audit: AuditLog
    commands: Dispatcher
    reports: CabinetHealth  # daily reports for the page
    figures: Figures
    runners: Mapping[str, DeviceRunner]
    ready: asyncio.Event

    def is_ready(self) -> bool:
        return self.ready.is_set()

    def broker_connected(self) -> bool:
        return self.figures.link.connected.is_set()

    def published_total(self) -> int:
        return self.figures.reporter.published_total

    def agent_info(self) -> dict[str, Any]:
        return self.figures.agent_info()

    def maintenance_now(self) -> list[dict[str, Any]]:
        return self.reports.maintenance_now()

    async def poll_all_now(self) -> dict[str, Any]:
        """Poll every device at once (the page's self-test); returns each device's state after it."""
        async with asyncio.TaskGroup() as group:
            for runner in self.runners.values():
                group.create_task(runner.poll_soon())
        return {
            device_id: {"state": snapshot.health.state, "reason": snapshot.health.reason}
            for device_id, snapshot in self.live.devices.items()
        }


@contextlib.asynccontextmanager
async def serving_page(
    group: asyncio.TaskGroup, view: LocalView, serving: Callable[[DiagnosticsServer], None]
) -> AsyncIterator[None]:
    """The page serves while open; an unusable address is logged and the agent runs on without it."""
    # Imported here: aiohttp.web is loaded only on cabinets that serve the page.
    from edge_agent.diagnostics.server import DiagnosticsServer

    page = DiagnosticsServer(view)
    if not await page.start():
        yield
        return
    serving(page)
    async with running(group, ("diagnostics-page", page.run())):
        yield
