"""The exception tree of edge-agent.

    EdgeAgentError                 base of everything we raise on purpose
    ├── ConfigError                the configuration cannot be used; carries every problem found
    ├── DeviceError                one poll of one device failed; carries the outage cause
    │   ├── DeviceTimeout          the device did not answer within its timeout
    │   ├── DeviceUnreachable      no link to the device (refused, port gone, no route)
    │   └── DeviceProtocolError    the device answered, but with garbage or an exception reply
    ├── OutboxError                the durable queue cannot store or read a message
    ├── CommandError               a remote or local command was refused; carries a reply code
    └── RelayError                 a relay could not be switched

Below them, the errors of one part, each under the comment naming the module that raises it:
transport errors a device kind turns into a DeviceError (BusError and its kinds, PortLost,
AuthFailed, HttpStatusError, ResponseTooLarge, RtspError), codec errors of hostile answers
(DecodeError, CodecError), and the errors of local tools (LivenessError, UserError,
ProfileError, UsageError, ConnectionLost).

Code catches broadly only at two places: the per-device poll loop (any exception becomes a
failed poll, the agent keeps running) and the application boundary (`edge_agent.cli`).
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
    line: int | None = None  # 1-based, where the file has it
    shown: str = ""  # the path as people read it: a device by its id (`devices[cam-1].timeout_s`)

    def __str__(self) -> str:
        file = f"{self.file}:{self.line}" if self.line else self.file
        path = self.shown or self.path
        where = f"{file}: {path}" if path else file
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


# --- errors of one part, each under the module that raises it --------------------------------------


# raised in edge_agent.runtime.liveness_file
class LivenessError(Exception):
    """The liveness file is missing, unreadable or not a liveness record."""


# raised in edge_agent.mqtt.link
class ConnectionLost(Exception):
    """The connection dropped before the broker acknowledged a message."""


# raised in edge_agent.actions.relay
class RelayError(EdgeAgentError):
    """The relay could not be switched (module unreachable, exception reply)."""


# raised in edge_agent.firmware.__main__
class UsageError(Exception):
    """The hook was called without what the contract promises it."""


# raised in edge_agent.diagnostics.users
class UserError(ValueError):
    """A bad user name, password, role, or a broken users file."""


# raised in edge_agent.devices.modbus.codec
class DecodeError(ValueError):
    """The registers cannot hold the value (too few words)."""


# raised in edge_agent.devices.modbus.bus
class BusError(Exception):
    """A transaction failed. ``kind`` is the counter it belongs to."""

    kind = "error"


class BusTimeout(BusError):
    kind = "timeout"


class BusBadFrame(BusError):
    """Bytes arrived but no valid reply: CRC error, garbage or a truncated frame."""

    kind = "bad_frame"


class BusBadLength(BusError):
    kind = "bad_length"


class BusExceptionReply(BusError):
    kind = "exception_reply"

    def __init__(self, code: int) -> None:
        super().__init__(f"exception reply, code {code}")
        self.code = code


class BusUnavailable(BusError):
    """The link cannot be opened (port gone, connection refused)."""

    kind = "unavailable"


# raised in edge_agent.devices.modbus.profile
class ProfileError(ValueError):
    """A profile cannot be found or is invalid."""


# raised in edge_agent.devices.onvif_camera.codec
class CodecError(ValueError):
    """An answer that cannot be understood (malformed, hostile or of the wrong shape)."""


# raised in edge_agent.devices.onvif_camera.rtsp_probe
class RtspError(Exception):
    """The RTSP server answered with something other than a usable SDP."""


# raised in edge_agent.devices.onvif_camera.failures
class ResponseTooLarge(Exception):
    """The camera's answer exceeded the configured size cap."""


class HttpStatusError(Exception):
    """An HTTP error status whose body is not a SOAP answer."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class AuthFailed(Exception):
    """The camera refused our credentials. The camera is up; the configuration (or camera) is wrong."""


# raised in edge_agent.devices.serial.port
class PortLost(Exception):
    """The serial port is gone or cannot be opened."""
