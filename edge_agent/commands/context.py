"""What a command handler may use: the live picture, the emitter, the agent's identity, and the
agent's services as typed handles (a cabinet without one has None there)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_agent.audit import AuditLog, Source
from edge_agent.devices.base import Poller
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState

if TYPE_CHECKING:  # typing only: the handlers that use them import them on first use
    from edge_agent.actions.power import PowerCycler
    from edge_agent.runtime.cabinet_health import CabinetHealth
    from edge_agent.runtime.device_runner import DeviceRunner


def _never_busy() -> str | None:
    return None


@dataclass(frozen=True)
class Services:
    """The agent's services handlers act through; each is optional on a given cabinet."""

    health: CabinetHealth | None = None
    audit: AuditLog | None = None
    power: PowerCycler | None = None  # None: no relays configured
    reload_config: Callable[[], Awaitable[dict[str, Any]]] | None = None  # None: no config file
    runners: Mapping[str, DeviceRunner] = field(default_factory=dict)
    firmware_dir: Path | None = None
    firmware_busy: Callable[[], str | None] = _never_busy  # the declared busy period in force, if any
    firmware_upgrading: set[str] = field(default_factory=set)  # cameras being upgraded right now


@dataclass(frozen=True)
class CommandContext:
    cabinet_id: str
    operator: str | None
    live: LiveState
    emitter: Emitter
    pollers: Mapping[str, Poller[Any]]
    agent_info: Callable[[], dict[str, Any]]
    resend_birth: Callable[[], Awaitable[None]]
    services: Services = field(default_factory=Services)
    source: Source = "mqtt"  # the transport the request came by: in its events and its audit record
