"""The page's operator actions, run through the same command handlers as `cmd/<name>` on MQTT.

An action whose command is not registered on this cabinet is shown disabled: the page never
pretends. The built-in `self_test` polls every device now (no command exists for it yet).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_agent.commands import COMMANDS

if TYPE_CHECKING:
    from edge_agent.app import Agent

ACTION_TIMEOUT_S = 90.0  # a power cycle keeps the power off >= 5 s, a camera takes a minute to boot


@dataclass(frozen=True)
class ActionSpec:
    key: str  # URL and translation key
    command: str | None  # the registered command it runs; None: built into the page
    per_device: bool
    kinds: tuple[str, ...] | None = None  # device kinds it applies to; None: every kind


ACTIONS: dict[str, ActionSpec] = {
    spec.key: spec
    for spec in (
        ActionSpec("power_cycle", "power_cycle", per_device=True),
        ActionSpec("camera_reboot", "camera_reboot", per_device=True, kinds=("onvif", "camera")),
        ActionSpec("time_sync", "time_sync", per_device=True, kinds=("onvif", "camera")),
        ActionSpec("radar_reset", "radar_reset", per_device=True, kinds=("serial", "radar")),
        ActionSpec("maintenance_window", "maintenance_window", per_device=False),
        ActionSpec("self_test", None, per_device=False),
    )
}


def available(spec: ActionSpec, agent: Agent) -> bool:
    if spec.command is None:
        return True
    return spec.command in COMMANDS and spec.command not in agent.dispatcher.disabled


def applies_to(spec: ActionSpec, kind: str) -> bool:
    return spec.per_device and (spec.kinds is None or kind in spec.kinds)


def catalogue(agent: Agent) -> list[dict[str, Any]]:
    return [
        {
            "key": spec.key,
            "per_device": spec.per_device,
            "kinds": spec.kinds,
            "available": available(spec, agent),
        }
        for spec in ACTIONS.values()
    ]


async def run(agent: Agent, spec: ActionSpec, *, operator: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one action; the result is the command reply (`status` ok|error, `data`, `error`)."""
    if spec.command is None:
        async with asyncio.timeout(ACTION_TIMEOUT_S):
            data = await agent.poll_all_now()
        return {"status": "ok", "data": data, "error": None}
    request = {"transaction": f"page-{uuid.uuid4().hex[:12]}", "operator": operator, "args": args}
    async with asyncio.timeout(ACTION_TIMEOUT_S):
        reply = await agent.dispatcher.handle(spec.command, json.dumps(request).encode())
    if reply is None:
        return {"status": "error", "data": None, "error": {"code": "busy", "message": "too many commands"}}
    return reply.model_dump(mode="json", include={"status", "data", "error"})
