"""What every device kind provides: a config model derived from DeviceConfig and a Poller."""

from __future__ import annotations

import asyncio
import builtins
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import Field

from edge_agent.config_base import Identifier, StrictModel
from edge_agent.devices.shared_resources import SharedResources
from edge_agent.errors import CommandError
from edge_agent.readings import PollResult, Value

# The loop time by which the running poll must have ended (the runner's timeout), for pollers that
# fit their own request timeouts inside it: their precise failure then wins over the blanket one.
_poll_deadline: ContextVar[float | None] = ContextVar("poll_deadline", default=None)


@contextmanager
def poll_deadline(timeout_s: float) -> Iterator[None]:
    """The runner's side: the poll in this context must end within `timeout_s` from now."""
    token = _poll_deadline.set(asyncio.get_running_loop().time() + timeout_s)
    try:
        yield
    finally:
        _poll_deadline.reset(token)


def in_poll() -> bool:
    """True inside a runner's poll: its deadline bounds every await in it."""
    return _poll_deadline.get() is not None


def request_timeout(limit_s: float, margin_s: float) -> float:
    """A request's timeout: `limit_s`, cut to end `margin_s` before the running poll's deadline."""
    deadline = _poll_deadline.get()
    if deadline is None:
        return limit_s
    return max(0.0, min(limit_s, deadline - margin_s - asyncio.get_running_loop().time()))


class TelemetryConfig(StrictModel):
    """Report-by-exception: a value is sent when it moved more than its deadband, and all are sent
    at every full refresh so a subscriber that joined late catches up."""

    deadband: dict[str, float] = Field(
        default_factory=dict,
        description="Per value name, the change that must be exceeded to send it again (0 = any change).",
    )
    full_refresh_s: float = Field(300, gt=0, description="Every value is sent at least this often.")
    min_interval_s: float = Field(
        0,
        ge=0,
        description=(
            "At most one message per this many seconds: changes in between are merged into the next "
            "one (latest value wins; none is lost, it waits). 0 = every poll that moved a value."
        ),
    )


class DeviceConfig(StrictModel):
    """Settings every device has. A kind subclasses this and adds `type: Literal["<kind>"]`."""

    type: str
    device_id: Identifier = Field(description="Stable id; a topic level on MQTT and the key in every report.")
    name: str | None = Field(None, max_length=120, description="Human name shown on the diagnostics page.")
    poll_interval_s: float = Field(10, gt=0, le=86400, description="Time between the starts of two polls.")
    timeout_s: float = Field(5, gt=0, le=3600, description="A poll taking longer than this has failed.")
    offline_after_failures: int = Field(
        3,
        ge=1,
        le=1000,
        description="Consecutive failed polls before the device counts as offline (debounce).",
    )
    telemetry: TelemetryConfig = Field(default_factory=dict, validate_default=True)


ConfigT = TypeVar("ConfigT", bound=DeviceConfig)


@dataclass(frozen=True)
class DeviceContext:
    """What the agent lends every poller: where state lives, shared buses, the agent's own figures."""

    data_dir: Path
    shared: SharedResources
    agent_stats: Callable[[], Mapping[str, Value]] = field(default=lambda: {})


class Poller(ABC, Generic[ConfigT]):
    """The IO side of a device kind. One instance per configured device, used by one loop at a time.

    `poll` either returns what it found or raises a `DeviceError` (any other exception counts as a
    failed poll too, with cause `device`). Blocking libraries must run behind `asyncio.to_thread`.
    The runner wraps every poll in `asyncio.timeout(config.timeout_s)`; a poller that waits on
    several requests sizes each with `request_timeout` so that its own failure comes first.
    """

    def __init__(self, config: ConfigT, context: DeviceContext) -> None:
        self.config = config
        self.context = context

    async def open(self) -> None:
        """Acquire long-lived resources (ports, sessions). Failures here are retried by the runner."""

    async def close(self) -> None:
        """Release what `open` acquired. Must not raise."""

    @abstractmethod
    async def poll(self) -> PollResult:
        """Read the device once."""

    async def run_action(self, action: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Run an operator action (reboot, reset, time sync). Kinds override what they support."""
        raise CommandError("unsupported_action", f"{self.config.type} devices do not support {action!r}")


@dataclass(frozen=True)
class DeviceKind:
    type: str  # the `type` value in the config
    config_model: builtins.type[DeviceConfig]
    poller_path: str  # "package.module:ClassName", imported lazily

    def create_poller(self, config: DeviceConfig, context: DeviceContext) -> Poller[Any]:
        module_name, _, class_name = self.poller_path.partition(":")
        poller_class = getattr(importlib.import_module(module_name), class_name)
        return poller_class(config, context)  # type: ignore[no-any-return]  # imported by name: Any
