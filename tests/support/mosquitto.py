"""A real ``mosquitto`` broker process on 127.0.0.1 for integration tests."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from .certs import TestPki
from .ports import free_port

_START_DEADLINE_S = 10.0
_STOP_DEADLINE_S = 10.0
# How often readiness is re-probed; the wait doubles as "did mosquitto exit?" check.
_PROBE_INTERVAL_S = 0.05
_LOG_TAIL_LINES = 40
# /usr/sbin is not on every non-root PATH, but that is where Debian installs the broker.
_FALLBACK_DIRS = ("/usr/sbin", "/usr/local/sbin")
_INSTALL_HINT = (
    "is not installed or not on PATH. Run the project's test command (see README), which installs it, "
    "or install it yourself: apt-get install mosquitto mosquitto-clients"
)


class BrokerError(RuntimeError):
    """The broker could not be started or configured."""


def find_tool(name: str) -> str:
    """Return the path of a mosquitto tool, or raise `BrokerError` with an install hint."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_FALLBACK_DIRS))
    if found is None:
        raise BrokerError(f"{name} {_INSTALL_HINT}")
    return found


class Broker:
    """One ``mosquitto`` process listening on ``127.0.0.1:<port>`` (plain TCP, or TLS if *tls* is given).

    The configuration is written once at construction, so `restart` brings the broker back with the same
    port, credentials and ACL. Persistence is off: a restarted broker has forgotten every session and
    subscription, which is exactly what a crashed central broker looks like to the agent.
    """

    def __init__(
        self,
        *,
        workdir: Path,
        port: int | None = None,
        tls: TestPki | None = None,
        passwords: dict[str, str] | None = None,
        acl: str | None = None,
        extra_conf: str = "",
        persistence: bool = False,
    ) -> None:
        self._binary = find_tool("mosquitto")
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._port = port if port is not None else free_port()
        self.tls = tls
        self.log_path = workdir / "mosquitto.log"
        self._output_path = workdir / "mosquitto.out"
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self.persistence = persistence
        self.config_path = self._write_config(passwords, acl, extra_conf)

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
        """Whether the mosquitto process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """Process id of the current mosquitto process, if one was started."""
        return self._process.pid if self._process is not None else None

    def start(self) -> Self:
        """Start mosquitto and wait until its port accepts TCP connections (deadline 10 s)."""
        if self.running:
            raise BrokerError(f"broker on port {self._port} is already running")
        self._close_output()
        # Output goes to a file, never to a PIPE nobody reads (a full pipe would block the broker).
        self._output = self._output_path.open("ab")
        self._process = subprocess.Popen(
            [self._binary, "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def stop(self) -> None:
        """Stop gracefully (SIGTERM) and wait; falls back to SIGKILL after 10 s. Idempotent."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL the broker and wait: simulates a crash (no DISCONNECTs, no will suppression)."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> Self:
        """Stop the broker if it still runs, then start it again on the same port."""
        self.stop()
        return self.start()

    def log_text(self) -> str:
        """Everything mosquitto logged so far (log file plus stdout/stderr), across restarts."""
        parts = [
            path.read_text(errors="replace") for path in (self._output_path, self.log_path) if path.exists()
        ]
        return "".join(parts)

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last *lines* lines of `log_text`, for error messages."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Broker(port={self._port}, tls={self.tls is not None}, running={self.running})"

    def _terminate(self, sig: signal.Signals) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=_STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._close_output()

    def _close_output(self) -> None:
        if self._output is not None:
            self._output.close()
            self._output = None

    def _wait_ready(self) -> None:
        """Poll the port until it accepts; fail fast, with the log, if mosquitto exits meanwhile."""
        assert self._process is not None
        deadline = time.monotonic() + _START_DEADLINE_S
        while time.monotonic() < deadline:
            if _accepts(self.host, self._port):
                # Re-check liveness: a foreign process could own the port while mosquitto failed to bind.
                if self._process.poll() is None:
                    return
                break
            try:
                # Waiting on the process is both the retry delay and the "did it die?" check.
                self._process.wait(timeout=_PROBE_INTERVAL_S)
                break
            except subprocess.TimeoutExpired:
                continue
        self._fail_start()

    def _fail_start(self) -> None:
        assert self._process is not None
        code = self._process.poll()
        if code is None:
            self._terminate(signal.SIGKILL)
            reason = f"did not accept connections within {_START_DEADLINE_S} s"
        else:
            self._close_output()
            reason = f"exited with code {code}"
        raise BrokerError(f"mosquitto on 127.0.0.1:{self._port} {reason}; log tail:\n{self.log_tail()}")

    def _write_config(self, passwords: dict[str, str] | None, acl: str | None, extra_conf: str) -> Path:
        lines = [
            "# Generated by tests/support/mosquitto.py",
            # mosquitto started as root drops to user `mosquitto`, which cannot read our 0600 files.
            f"user {getpass.getuser()}",
            # With persistence, sessions of persistent subscribers survive a kill -9 (saved every second).
            *(
                ["persistence true", f"persistence_location {self.workdir}/", "autosave_interval 1"]
                if self.persistence
                else ["persistence false"]
            ),
            f"log_dest file {self.log_path}",
            # mosquitto drops QoS 1 messages beyond 1000 queued per subscriber by default; a test
            # replaying a backlog to a slow subscriber would see the broker's loss, not the agent's.
            "max_queued_messages 1000000",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "log_type subscribe",
            "log_timestamp_format %H:%M:%S",
            "connection_messages true",
            *self._auth_lines(passwords, acl),
            f"listener {self._port} 127.0.0.1",
            *self._tls_lines(),
            extra_conf,
        ]
        path = self.workdir / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _auth_lines(self, passwords: dict[str, str] | None, acl: str | None) -> list[str]:
        # mosquitto 2.x refuses anonymous clients by default once a listener is configured.
        lines = (
            ["allow_anonymous true"]
            if passwords is None
            else [
                "allow_anonymous false",
                f"password_file {self._write_passwords(passwords)}",
            ]
        )
        if acl is not None:
            acl_path = self.workdir / "acl"
            acl_path.write_text(acl)
            lines.append(f"acl_file {acl_path}")
        return lines

    def _tls_lines(self) -> list[str]:
        if self.tls is None:
            return []
        return [
            f"cafile {self.tls.ca_file}",
            f"certfile {self.tls.server_cert}",
            f"keyfile {self.tls.server_key}",
            # Clients authenticate with username/password; client certificates are optional.
            "require_certificate false",
        ]

    def _write_passwords(self, passwords: dict[str, str]) -> Path:
        """Hash *passwords* into a mosquitto password file with ``mosquitto_passwd -b``."""
        tool = find_tool("mosquitto_passwd")
        path = self.workdir / "passwords"
        # Start from an empty file instead of `-c`: that also covers an empty dict (nobody may log in).
        path.write_text("")
        for user, password in passwords.items():
            result = subprocess.run(
                [tool, "-b", str(path), user, password], capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise BrokerError(f"mosquitto_passwd failed for {user!r}: {result.stderr or result.stdout}")
        return path


def _accepts(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port succeeds right now."""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_INTERVAL_S * 4):
            return True
    except OSError:
        return False
