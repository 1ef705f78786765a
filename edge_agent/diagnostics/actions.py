"""The page's operator actions, run through the same command handlers as `cmd/<name>` on MQTT.

An action whose command is not registered on this cabinet is shown disabled: the page never
pretends. An action is named like its command (docs/diagnostics.md lists them; a test holds the
two together). The built-in `self_test` polls every device now (no command exists for it yet).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from edge_agent.commands import command_names
from edge_agent.commands.dispatcher import flood_reply, parse_document

if TYPE_CHECKING:
    from edge_agent.diagnostics.view import AgentView

ACTION_TIMEOUT_S = 90.0  # a power cycle keeps the power off >= 5 s, a camera takes a minute to boot


@dataclass(frozen=True)
class ActionSpec:
    key: str  # URL and translation key
    command: str | None  # the registered command it runs; None: built into the page
    per_device: bool
    kinds: tuple[str, ...] | None = None  # device kinds it applies to; None: every kind ...
    not_kinds: tuple[str, ...] = ()  # ... but these
    needs_relay: bool = False  # only for devices a configured relay powers


ACTIONS: dict[str, ActionSpec] = {
    spec.key: spec
    for spec in (
        # Only where a relay powers the device; the controller serving this page, never.
        ActionSpec(
            "power_cycle", "power_cycle", per_device=True, not_kinds=("host", "link"), needs_relay=True
        ),
        ActionSpec("camera_reboot", "camera_reboot", per_device=True, kinds=("onvif_camera",)),
        ActionSpec("camera_sync_time", "camera_sync_time", per_device=True, kinds=("onvif_camera",)),
        ActionSpec("device_soft_reset", "device_soft_reset", per_device=True, kinds=("serial",)),
        ActionSpec("maintenance_start", "maintenance_start", per_device=False),
        ActionSpec("maintenance_end", "maintenance_end", per_device=False),
        ActionSpec("self_test", None, per_device=False),
    )
}


def available(spec: ActionSpec, agent: AgentView) -> bool:
    if spec.command is None:
        return True
    return spec.command in command_names() and spec.command not in agent.commands.disabled


def applies_to(spec: ActionSpec, kind: str, *, has_relay: bool = False) -> bool:
    """Whether a device of `kind` gets the action (`has_relay`: a configured relay powers it)."""
    if not spec.per_device or kind in spec.not_kinds or (spec.needs_relay and not has_relay):
        return False
    return spec.kinds is None or kind in spec.kinds


def relay_powered(agent: AgentView) -> frozenset[str]:
    """The devices a configured relay powers: the only ones a power-cycle can reach."""
    return frozenset(relay.device_id for relay in agent.config.actions.relays)


def for_device(agent: AgentView, device_id: str, kind: str) -> list[str]:
    """The keys of the actions offered for one device, in the catalogue's order."""
    has_relay = device_id in relay_powered(agent)
    return [key for key, spec in ACTIONS.items() if applies_to(spec, kind, has_relay=has_relay)]


def catalogue(agent: AgentView) -> list[dict[str, Any]]:
    return [
        {
            "key": spec.key,
            "per_device": spec.per_device,
            "kinds": spec.kinds,
            "not_kinds": spec.not_kinds,
            "needs_relay": spec.needs_relay,
            "available": available(spec, agent),
        }
        for spec in ACTIONS.values()
    ]


async def run(agent: AgentView, spec: ActionSpec, *, operator: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one action; the result is the command reply (`status` ok|error, `data`, `error`)."""
    if spec.command is None:
        async with asyncio.timeout(ACTION_TIMEOUT_S):
            data = await agent.poll_all_now()
        return {"status": "ok", "data": data, "error": None}
    transaction = f"page-{uuid.uuid4().hex[:12]}"
    arguments = _command_args(spec, args)
    request = parse_document({"transaction": transaction, "operator": operator, "args": arguments})
    async with asyncio.timeout(ACTION_TIMEOUT_S):
        # The dispatcher audits the command (source `web`), as it does for MQTT requests.
        reply = await agent.commands.dispatch(spec.command, request, source="web")
    if reply is None:
        reply = flood_reply(spec.command, transaction)
    return reply.model_dump(mode="json", include={"status", "data", "error"})


def _command_args(spec: ActionSpec, args: dict[str, Any]) -> dict[str, Any]:
    """The page's form fields as the command's arguments."""
    if spec.command == "maintenance_start":
        mapped: dict[str, Any] = {
            "duration_s": args.get("duration_min", 60) * 60,
            "reason": args.get("reason", ""),
        }
        if args.get("device_id"):
            mapped["device_ids"] = [args["device_id"]]
        return mapped
    return {key: value for key, value in args.items() if key == "device_id"}
