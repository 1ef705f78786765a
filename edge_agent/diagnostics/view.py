"""What the page sees of the agent: a read-only view, never the agent itself.

The composition root hands the page an object of this shape (`runtime.local_view.LocalView`); the
page imports nothing of the root, so the page and the root do not import each other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edge_agent.audit import AuditLog, Source
    from edge_agent.commands.dispatcher import Parsed
    from edge_agent.config import AgentConfig
    from edge_agent.mqtt.payloads import CommandReplyPayload
    from edge_agent.runtime.live_state import LiveState


class ReportSource(Protocol):
    async def days(self) -> list[str]:
        """Days with a stored report, `YYYY-MM-DD`, newest first."""

    async def get(self, day: str) -> dict[str, Any] | None:
        """The report of one day, as published on `report/daily`."""


class CommandEntry(Protocol):
    """The dispatcher's one entry, as the page and the local socket use it."""

    disabled: frozenset[str]  # read at each use: the page shows a disabled command as such

    async def dispatch(self, name: str, request: Parsed, *, source: Source) -> CommandReplyPayload | None:
        """The reply, or None when the request was dropped in a flood."""


class AgentView(Protocol):
    """The running agent as the page reads it, plus the two things it may ask: a command, a poll."""

    @property
    def config(self) -> AgentConfig: ...

    @property
    def live(self) -> LiveState: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def commands(self) -> CommandEntry: ...

    @property
    def reports(self) -> ReportSource | None: ...

    def is_ready(self) -> bool:
        """True once every component started."""

    def broker_connected(self) -> bool: ...

    def published_total(self) -> int:
        """Messages the reporter has sent since the start."""

    def agent_info(self) -> dict[str, Any]:
        """The agent's figures, as `get_status` answers them."""

    def maintenance_now(self) -> list[dict[str, Any]]:
        """The maintenance windows open now (`end`, `devices`, `operator`, `reason`), soonest end first."""

    async def poll_all_now(self) -> dict[str, Any]:
        """Poll every device at once (the page's self-test); each device's state after it."""
