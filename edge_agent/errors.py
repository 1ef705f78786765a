"""The exception tree of edge-agent.

    EdgeAgentError                 base of everything we raise on purpose
    ├── ConfigError                the configuration cannot be used; carries every problem found
    ├── DeviceError                one poll of one device failed; carries the outage cause
    │   ├── DeviceTimeout          the device did not answer within its timeout
    │   ├── DeviceUnreachable      no link to the device (refused, port gone, no route)
    │   └── DeviceProtocolError    the device answered, but with garbage or an exception reply
    ├── OutboxError                the durable queue cannot store or read a message
    └── CommandError               a remote or local command was refused; carries a reply code

Code catches broadly only at two places: the per-device poll loop (any exception becomes a
failed poll, the agent keeps running) and the application boundary in ``app.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_agent.readings import Cause


class EdgeAgentError(Exception):
    """Base of every error edge-agent raises on purpose."""


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in a configuration file: where, and what was expected."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class ConfigError(EdgeAgentError):
    """The configuration cannot be used. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class DeviceError(EdgeAgentError):
    """A poll of a device failed. ``cause`` is what an outage from this failure is attributed to;
    ``code`` names the failure in the fault catalogue (edge_agent/faults/catalogue.yaml)."""

    cause: Cause = "device"
    code: str = "poll_failed"

    def __init__(self, message: str, *, cause: Cause | None = None, code: str | None = None) -> None:
        super().__init__(message)
        if cause is not None:
            self.cause = cause
        if code is not None:
            self.code = code


class DeviceTimeout(DeviceError):
    """The device did not answer within its timeout."""

    code = "timeout"


class DeviceUnreachable(DeviceError):
    """There is no link to the device: connection refused, serial port gone, no route."""

    code = "unreachable"


class DeviceProtocolError(DeviceError):
    """The device answered, but the answer was malformed or an exception reply."""

    code = "bad_answer"


class OutboxError(EdgeAgentError):
    """The durable outbox cannot store or read a message."""


class CommandError(EdgeAgentError):
    """A command was refused. ``code`` is the machine-readable reason sent in the reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
