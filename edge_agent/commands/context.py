"""What a command handler may use: the live picture, the emitter, the agent's identity."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from edge_agent.devices.base import Poller
from edge_agent.runtime.emitter import Emitter
from edge_agent.runtime.live_state import LiveState


@dataclass(frozen=True)
class CommandContext:
    cabinet_id: str
    operator: str | None
    live: LiveState
    emitter: Emitter
    pollers: Mapping[str, Poller[Any]]
    agent_info: Callable[[], dict[str, Any]]
    resend_birth: Callable[[], Awaitable[None]]
    # Agent services later features add without widening this class: "health", "audit", "relays".
    services: Mapping[str, Any] = field(default_factory=dict)
