"""A real amqtt broker (PyPI `amqtt`, MQTT 3.1.1 only) as a child process on 127.0.0.1.

The second broker implementation of the suite, beside mosquitto. It matters because it behaves as
several 3.1.1-only brokers in the field do with an MQTT 5 CONNECT: it never answers with a CONNACK.
Same surface as `support.mosquitto.Broker` (host, port, start, stop, kill, restart); no persistence,
so a restart loses every retained message and session, like a crashed central broker.
"""

from __future__ import annotations

import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Self

_START_DEADLINE_S = 20.0
_STOP_DEADLINE_S = 10.0
_MAIN = Path(__file__).with_name("amqtt_main.py")


class AmqttBroker:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "amqtt.log"
        self._port = 0  # the OS chooses at the first start; restarts keep it
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return self._port

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, str(_MAIN), str(self._port)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._port = self._read_port(self._process)
        return self

    def stop(self) -> None:
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: a crash; retained messages and sessions are gone."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> Self:
        self.stop()
        return self.start()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _read_port(self, process: subprocess.Popen[bytes]) -> int:
        assert process.stdout is not None
        deadline = time.monotonic() + _START_DEADLINE_S
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([process.stdout], [], [], left)
            if not ready:
                break
            line = process.stdout.readline()
            if not line:  # the process ended before listening
                break
            if line.startswith(b"PORT "):
                return int(line.split()[1])
        self._terminate(signal.SIGKILL)
        raise RuntimeError(f"amqtt did not start listening; log:\n{self.log_text()[-3000:]}")

    def _terminate(self, sig: signal.Signals) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=_STOP_DEADLINE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process is not None and process.stdout is not None:
            process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
