"""An in-process agent with the diagnostics page on, for the page's integration and browser tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from edge_agent.config import load_config
from edge_agent.devices.base import DeviceConfig
from edge_agent.diagnostics.users import UserStore
from edge_agent.runtime.agent import Agent
from support.agent import running_agent
from support.ports import free_port
from support.scripted_device import SCRIPTS, Script, registered

PASSWORDS = {"tech": "tech-password-1", "viewer": "viewer-password-1"}


@dataclass
class PageAgent:
    agent: Agent
    url: str
    users_file: Path


def write_config(tmp_path: Path, broker_port: int, page_port: int, extra: str = "") -> Path:
    path = tmp_path / "cabinet.yaml"
    path.write_text(
        f"""
cabinet: {{id: K-101, site: "G15 K1234+500 northbound"}}
mqtt: {{host: 127.0.0.1, port: {broker_port}}}
storage: {{data_dir: data}}
diagnostics:
  enabled: true
  port: {page_port}
  users_file: users.json
  default_language: en
  lockout_after_failures: 10
  lockout_s: 120
  history_hours: 0.02
{extra}
devices:
  - {{type: host, device_id: host, name: Cabinet controller, poll_interval_s: 2}}
""",
        encoding="utf-8",
    )
    return path


@contextlib.asynccontextmanager
async def page_agent(
    tmp_path: Path,
    broker_port: int,
    devices: Sequence[DeviceConfig] | None = None,
    scripts: dict[str, Script] | None = None,
) -> AsyncIterator[PageAgent]:
    """Agent + page on free loopback ports, users `tech` (technician) and `viewer`; stopped after."""
    with registered():
        SCRIPTS.update(scripts or {})
        config = load_config(write_config(tmp_path, broker_port, free_port()))
        config = config.model_copy(update={"devices": [*config.devices, *(devices or [])]})
        store = UserStore(config.diagnostics.users_file)
        store.add("tech", PASSWORDS["tech"], "technician")
        store.add("viewer", PASSWORDS["viewer"], "viewer")
        async with running_agent(config) as agent:
            assert agent.diagnostics is not None, "the page did not start"
            yield PageAgent(
                agent, f"http://127.0.0.1:{config.diagnostics.port}", config.diagnostics.users_file
            )
