"""`reload_config`: the config file is validated again; an accepted new config restarts the agent
in-process once the command's reply has left, a rejected one leaves the running config in place."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from edge_agent.config import AgentConfig, load_config
from edge_agent.errors import CommandError, ConfigError


class ConfigReload:
    def __init__(self, config: AgentConfig, path: Path | None) -> None:
        self.config, self.path = config, path
        self.accepted: AgentConfig | None = None  # a validated new config, once one is accepted
        self.requested = asyncio.Event()  # set once its reply left: the agent restarts then

    async def reload(self) -> dict[str, Any]:
        """Validate the config file again; an invalid one is refused and the running one stays."""
        if self.path is None:
            raise CommandError("unavailable", "the agent was not started from a config file")
        try:
            new = await asyncio.to_thread(load_config, self.path)
        except ConfigError as exc:
            problems = "; ".join(str(problem) for problem in exc.problems[:5])
            raise CommandError("invalid_config", f"{len(exc.problems)} problem(s): {problems}") from exc
        if new.config_hash() == self.config.config_hash():
            return {"changed": False, "config_hash": new.config_hash()}
        self.accepted = new
        return {"changed": True, "config_hash": new.config_hash(), "restarting": True}

    def after_reply(self) -> None:
        if self.accepted is not None:
            self.requested.set()
