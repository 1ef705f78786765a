"""Remote commands: `cmd/<name>` requests answered on `cmd-reply`.

A command is an async handler with a pydantic model for its `args`, registered with `@command`.
Handlers live in modules listed in `_COMMAND_MODULES`; a later feature adds a module, not an `if`.
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


_COMMAND_MODULES = (
    "edge_agent.commands.basic",
    "edge_agent.commands.camera",
    "edge_agent.commands.health",
    "edge_agent.commands.actions",
    "edge_agent.commands.firmware",
    "edge_agent.commands.resend",
)
for _module in _COMMAND_MODULES:
    importlib.import_module(_module)
