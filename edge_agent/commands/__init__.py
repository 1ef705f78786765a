"""Remote commands: `cmd/<name>` requests answered on `cmd-reply`.

A command is an async handler with a pydantic model for its `args`, registered with `@command`.
Handlers live in the modules `COMMAND_MODULES` names, imported when their command is first asked
for; a later feature adds a module and its names, not an `if`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from edge_agent.commands.context import CommandContext


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


ArgsT = TypeVar("ArgsT", bound=BaseModel)
Handler = Callable[[Any, CommandContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    name: str
    args_model: type[BaseModel]
    handler: Handler
    acts_on_hardware: bool  # such commands can be disabled per cabinet, and need an operator
    read_only: bool  # changes nothing: not audited


COMMANDS: dict[str, Command] = {}


def command(
    name: str, args_model: type[ArgsT], *, acts_on_hardware: bool = False, read_only: bool = False
) -> Callable[[Callable[[ArgsT, CommandContext], Awaitable[dict[str, Any]]]], Handler]:
    """Register a command. Every command that is not `read_only` is written to the audit log."""

    def register(handler: Callable[[ArgsT, CommandContext], Awaitable[dict[str, Any]]]) -> Handler:
        COMMANDS[name] = Command(name, args_model, handler, acts_on_hardware, read_only)
        return handler

    return register


# The module that registers each command. A handler's module is imported on the first request of
# its command, not at start: a cabinet that is never commanded keeps none of them in memory (RSS,
# issue 16). tests/unit/test_command_modules.py checks this table against the registrations.
COMMAND_MODULES: dict[str, str] = {
    "ping": "edge_agent.commands.basic",
    "get_status": "edge_agent.commands.basic",
    "resend_birth": "edge_agent.commands.basic",
    "camera_reboot": "edge_agent.commands.camera",
    "camera_sync_time": "edge_agent.commands.camera",
    "maintenance_start": "edge_agent.commands.health",
    "maintenance_end": "edge_agent.commands.health",
    "report_daily": "edge_agent.commands.health",
    "reload_config": "edge_agent.commands.health",
    "power_cycle": "edge_agent.commands.actions",
    "device_soft_reset": "edge_agent.commands.actions",
    "camera_firmware_upgrade": "edge_agent.commands.firmware",
    "camera_firmware_batch": "edge_agent.commands.firmware",
    "resend_events": "edge_agent.commands.resend",
}


def find_command(name: str) -> Command | None:
    """The command registered as `name`, its module imported on first use; None if unknown."""
    module = COMMAND_MODULES.get(name)
    if name not in COMMANDS and module is not None:
        importlib.import_module(module)
    return COMMANDS.get(name)


def command_names() -> set[str]:
    """Every command this agent answers, without importing their handlers."""
    return set(COMMAND_MODULES) | set(COMMANDS)
