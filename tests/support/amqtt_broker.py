"""A real amqtt broker (PyPI `amqtt`, MQTT 3.1.1 only) as a child process on 127.0.0.1.

The second broker implementation of the suite, beside mosquitto. It matters because it behaves as
several 3.1.1-only brokers in the field do with an MQTT 5 CONNECT: it never answers with a CONNACK.
Same surface as `support.mosquitto.Broker` (host, port, start, stop, kill, restart); no persistence,
so a restart loses every retained message and session, like a crashed central broker.
"""

from __future__ import annotations

import select
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from .broker_process import BrokerProcess

_MAIN = Path(__file__).with_name("amqtt_main.py")


class AmqttBroker(BrokerProcess):
    name = "amqtt"

    def __init__(self, workdir: Path) -> None:
        # Port 0: the OS chooses at the first start; restarts keep it.
        super().__init__(workdir, "amqtt.log", 0)
        self.log_path = self._output_path

    def _launch(self, output: IO[bytes]) -> subprocess.Popen[bytes]:
        # stdout carries the one line saying the port; the log goes to the file.
        command = [sys.executable, str(_MAIN), str(self._port)]
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=output)

    def _await_port(self, process: subprocess.Popen[bytes]) -> int | None:
        assert process.stdout is not None
        deadline = time.monotonic() + self.start_deadline_s
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([process.stdout], [], [], left)
            if not ready:
                break
            line = process.stdout.readline()
            if not line:  # the process ended before listening
                break
            if line.startswith(b"PORT "):
                return int(line.split()[1])
        return None
