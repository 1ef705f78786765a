"""What the suite's brokers share: a child process on 127.0.0.1, started, awaited and stopped alike.

`support.mosquitto.Broker`, `support.amqtt_broker.AmqttBroker` and `support.nats_broker.NatsBroker`
each say only how to launch their broker and how to learn that (and where) it listens.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, NoReturn, Self

from .processes import stop_process

_LOG_TAIL_LINES = 40


class BrokerError(RuntimeError):
    """The broker could not be started or configured."""


class BrokerProcess:
    """One broker process on ``127.0.0.1``; `restart` brings it back on the same port.

    Its output goes to a file (``output_name`` in *workdir*), never to a pipe nobody reads: a full
    pipe would block the broker. Subclasses implement `_launch` and `_await_port`.
    """

    name: ClassVar[str]
    start_deadline_s: ClassVar[float] = 20.0

    def __init__(self, workdir: Path, output_name: str, port: int) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self._output_path = workdir / output_name
        self._port = port
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def host(self) -> str:
        """Address to connect to; always loopback."""
        return "127.0.0.1"

    @property
    def port(self) -> int:
        """The listener port; stays the same across `restart`."""
        return self._port

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the current broker process, if one was started."""
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        """Start the broker and wait until it listens; `BrokerError` with its log if it does not."""
        if self.running:
            raise BrokerError(f"{self.name} on port {self._port} is already running")
        self._close_output()
        self._output = self._output_path.open("ab")
        self._process = self._launch(self._output)
        port = self._await_port(self._process)
        if port is None or self._process.poll() is not None:
            self._fail_start()
        self._port = port
        return self

    def stop(self) -> None:
        """Stop gracefully (SIGTERM) and wait; falls back to SIGKILL after 10 s. Idempotent."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the broker and wait: a crash (no DISCONNECTs; what it kept in memory is gone)."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> Self:
        """Stop the broker if it still runs, then start it again on the same port."""
        self.stop()
        return self.start()

    def log_text(self) -> str:
        """Everything the broker wrote so far, across restarts."""
        return self._output_path.read_text(errors="replace") if self._output_path.exists() else ""

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last *lines* lines of `log_text`, for error messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _launch(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        raise NotImplementedError

    def _await_port(self, process: subprocess.Popen[bytes]) -> int | None:
        """The port once the broker listens; None if it exits or misses `start_deadline_s`."""
        raise NotImplementedError

    def _terminate(self, sig: signal.Signals) -> None:
        stop_process(self._process, sig)
        if self._process is not None and self._process.stdout is not None:
            self._process.stdout.close()
        self._close_output()

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None

    def _fail_start(self) -> NoReturn:
        assert self._process is not None
        code = self._process.poll()
        self._terminate(signal.SIGKILL)
        reason = (
            f"exited with code {code}"
            if code is not None
            else f"not listening after {self.start_deadline_s} s"
        )
        raise BrokerError(f"{self.name} on 127.0.0.1:{self._port} {reason}; log tail:\n{self.log_tail()}")
