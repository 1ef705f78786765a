"""A real NATS server (Debian `nats-server`) with its MQTT 3.1.1 listener, as a child process.

A third broker implementation for the suite: it refuses an MQTT 5 CONNECT with CONNACK return
code 1, keeps retained messages in JetStream, and needs `server_name` and JetStream for MQTT.
Both its ports are chosen by the OS (`-1`) and read from its log; restarts keep the MQTT port.
Each start gets a fresh JetStream store, so a restart loses every retained message and session.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Self

from .requirements import missing

_START_DEADLINE_S = 20.0
_STOP_DEADLINE_S = 10.0
_LISTENING = re.compile(rb"Listening for MQTT clients on mqtt://127\.0\.0\.1:(\d+)")


class NatsBroker:
    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")
        if binary is None:
            missing("nats-server is not installed (apt-get install nats-server; ./dev.sh setup does)")
        self._binary = str(binary)
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "nats.log"
        self._port = -1
        self._starts = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> Self:
        self._starts += 1
        config = self.workdir / "nats.conf"
        store = self.workdir / f"jetstream-{self._starts}"
        config.write_text(
            f"server_name: edge-test-{self._starts}\nhost: 127.0.0.1\nport: -1\n"
            f'jetstream {{ store_dir: "{store}" }}\nmqtt {{ host: 127.0.0.1, port: {self._port} }}\n'
        )
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [self._binary, "-c", str(config)], stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log
        )
        self._port = self._wait_listening(offset)
        return self

    def stop(self) -> None:
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        self._terminate(signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _wait_listening(self, offset: int) -> int:
        """The MQTT port from the log: nats-server logs no line a test could await otherwise."""
        assert self._process is not None
        deadline = time.monotonic() + _START_DEADLINE_S
        while time.monotonic() < deadline and self._process.poll() is None:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                found = _LISTENING.search(log.read())
            if found:
                return int(found.group(1))
            time.sleep(0.05)
        self._terminate(signal.SIGKILL)
        raise RuntimeError(f"nats-server did not start listening; log:\n{self.log_text()[-3000:]}")

    def _terminate(self, sig: signal.Signals) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=_STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
