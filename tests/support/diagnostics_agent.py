"""An in-process agent with the diagnostics page on, for the page's integration and browser tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from edge_agent.actions.config import GpioOutput, RelayConfig
from edge_agent.config import AgentConfig, load_config
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


@contextlib.contextmanager
def mock_pins() -> Iterator[None]:
    """gpiozero's mock pin factory (as GPIOZERO_PIN_FACTORY=mock gives), fresh for one agent."""
    previous, factory = Device.pin_factory, MockFactory()
    Device.pin_factory = factory
    try:
        yield
    finally:
        factory.reset()
        Device.pin_factory = previous


def _with_relays(config: AgentConfig, device_ids: Sequence[str]) -> AgentConfig:
    """`config` with one relay (a mock GPIO pin) per device of `device_ids`."""
    relays = [RelayConfig(device_id=d, gpio=GpioOutput(pin=17 + i)) for i, d in enumerate(device_ids)]
    return config.model_copy(update={"actions": config.actions.model_copy(update={"relays": relays})})


@contextlib.asynccontextmanager
async def page_agent(
    tmp_path: Path,
    broker_port: int,
    devices: Sequence[DeviceConfig] | None = None,
    scripts: dict[str, Script] | None = None,
    relays: Sequence[str] = (),
) -> AsyncIterator[PageAgent]:
    """Agent + page on free loopback ports, users `tech` (technician) and `viewer`; stopped after.
    `relays`: the devices a relay powers (on mock pins), the ones offered a power-cycle."""
    with registered(), mock_pins():
        SCRIPTS.update(scripts or {})
        config = load_config(write_config(tmp_path, broker_port, free_port()))
        config = config.model_copy(update={"devices": [*config.devices, *(devices or [])]})
        config = _with_relays(config, relays)
        store = UserStore(config.diagnostics.users_file)
        store.add("tech", PASSWORDS["tech"], "technician")
        store.add("viewer", PASSWORDS["viewer"], "viewer")
        async with running_agent(config) as agent:
            assert agent.diagnostics is not None, "the page did not start"
            yield PageAgent(
                agent, f"http://127.0.0.1:{config.diagnostics.port}", config.diagnostics.users_file
            )
