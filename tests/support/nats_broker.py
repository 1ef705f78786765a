"""A real NATS server (Debian `nats-server`) with its MQTT 3.1.1 listener, as a child process.

A third broker implementation for the suite: it refuses an MQTT 5 CONNECT with CONNACK return
code 1, keeps retained messages in JetStream, and needs `server_name` and JetStream for MQTT.
Both its ports are chosen by the OS (`-1`) and read from its log; restarts keep the MQTT port.
Each start gets a fresh JetStream store, so a restart loses every retained message and session.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import IO, Self

from .broker_process import BrokerProcess
from .processes import wait_while_alive
from .requirements import missing

_LISTENING = re.compile(rb"Listening for MQTT clients on mqtt://127\.0\.0\.1:(\d+)")


class NatsBroker(BrokerProcess):
    name = "nats-server"

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("nats-server") or shutil.which("nats-server", path="/usr/sbin:/usr/bin")
        if binary is None:
            missing("nats-server is not installed (apt-get install nats-server; ./dev.sh setup does)")
        super().__init__(workdir, "nats.log", -1)
        self._binary = str(binary)
        self.log_path = self._output_path
        self._starts = 0
        self._log_offset = 0

    def start(self) -> Self:
        self._starts += 1
        # Where this start's lines begin: the log is appended to across restarts.
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        return super().start()

    def _launch(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        config = self.workdir / "nats.conf"
        store = self.workdir / f"jetstream-{self._starts}"
        config.write_text(
            f"server_name: edge-test-{self._starts}\nhost: 127.0.0.1\nport: -1\n"
            f'jetstream {{ store_dir: "{store}" }}\nmqtt {{ host: 127.0.0.1, port: {self._port} }}\n'
        )
        command = [self._binary, "-c", str(config)]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output, stderr=output)

    def _await_port(self, process: subprocess.Popen[bytes]) -> int | None:
        """The MQTT port from the log: nats-server logs no line a test could await otherwise."""
        return wait_while_alive(process, self._logged_port, self.start_deadline_s)

    def _logged_port(self) -> int | None:
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            found = _LISTENING.search(log.read())
        return int(found.group(1)) if found else None
