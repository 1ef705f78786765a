"""Which MQTT version a broker accepted, kept in the data dir so a restart starts with it.

A 3.1.1-only broker that never answers an MQTT 5 CONNECT costs a full connect timeout per try;
remembering its version spares that at every start. The file names the broker it is about, so a
config pointing at another broker starts from MQTT 5 again. A missing or unreadable file only means
"unknown"; a failed write (disk full, read-only) is logged once and otherwise ignored.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from paho.mqtt.enums import MQTTProtocolVersion

log = logging.getLogger(__name__)

MAX_BYTES = 4096  # the file is ~60 bytes; anything larger is not ours
VERSIONS = {"5": MQTTProtocolVersion.MQTTv5, "3.1.1": MQTTProtocolVersion.MQTTv311}


class ProtocolMemory:
    def __init__(self, path: Path | None, broker: str) -> None:
        self.path = path
        self.broker = broker
        self._write_failed = False

    def recall(self) -> MQTTProtocolVersion | None:
        if self.path is None or not self.path.is_file():  # regular files only: never a FIFO
            return None
        try:
            with self.path.open("rb") as file:
                document = json.loads(file.read(MAX_BYTES))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(document, dict) or document.get("broker") != self.broker:
            return None
        return VERSIONS.get(str(document.get("protocol")))

    def store(self, protocol: MQTTProtocolVersion) -> None:
        if self.path is None:
            return
        name = next(key for key, value in VERSIONS.items() if value == protocol)
        temporary = self.path.with_suffix(".tmp")
        try:
            temporary.write_text(json.dumps({"broker": self.broker, "protocol": name}))
            os.replace(temporary, self.path)
        except OSError as exc:
            if not self._write_failed:
                log.warning("cannot remember the broker's MQTT version in %s: %s", self.path, exc)
            self._write_failed = True
